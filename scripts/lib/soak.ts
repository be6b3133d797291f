import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ledgerEntry, OPERATOR_ACCOUNT } from '../../activities/settlement/ledger-entries';
import type { BudgetView } from '../../api/budgets/schemas';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { TuskApiError } from '../../lib/tusk-client';
import { signDatasetPolicy, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { datasetPolicyPath } from '../../query-policies/dataset-policy-file';
import { signTemplate } from '../../query-policies/signature';
import { readTemplateFile, signaturePath, templatePath } from '../../query-policies/template-files';
import type { DealStatus } from '../../workflows/deal/state';
import { deployLocal, type LocalDeployment } from './local-deployment';
import { startRestartableStack } from './soak-stack';

const ROOT = resolve(__dirname, '../..');
const DEMO_TEMPLATE = join(ROOT, 'query-policies/demo-seller/cohort-cost-by-zip3.json');
const SELLER = 'soak-seller';
/**
 * Each deal a different cohort: the perimeter answers an identical query again from what it
 * released before, without a second charge, and the soak checks one charge per deal.
 */
const parametersOf = (index: number) => ({
  min_age: 18 + (Math.floor(index / 2) % 40),
  max_age: 58 + Math.floor(index / 80),
  sex: index % 2 ? 'M' : 'F',
});
const COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};
/** The processes SIGKILLed at random; the API stays up (it holds no state a kill would test). */
export const KILLED_WORKERS = [
  'deals worker',
  'perimeter worker',
  'settlement worker',
  'coordinator worker',
  'notifier',
] as const;

export interface SoakOptions {
  deals: number;
  /** Deals in flight at once. */
  concurrency: number;
  /** Synthetic visits in the seller's dataset. */
  rows: number;
  /** Longest a deal may take, faults included, before it counts as lost. */
  dealTimeoutMs: number;
  /** Pause between kills: uniform in [min, max] ms. */
  killEveryMs: [number, number];
  seed: number;
  log: (line: string) => void;
  /** Keep the working directory (logs, ledger) after the run. */
  keep?: boolean;
}

export interface SoakReport {
  deals: number;
  settled: number;
  durationS: number;
  kills: Record<string, number>;
  temporalRestarts: number;
  redisRestarts: number;
  /** Deals that did not settle in time, or ended with a problem. */
  lost: string[];
  /** Deals whose escrow was locked or paid out more than once, or both paid and refunded. */
  doublePayments: string[];
  /** ε the buyer's budget shows spent, and what one charge per deal comes to. */
  budget: { spentEpsilon: number; expectedEpsilon: number; totalSpentEpsilon: number };
  balances: {
    buyer: string;
    seller: string;
    operator: string;
    expected: { buyer: string; seller: string; operator: string };
  };
  workDir: string;
}

/** A small seeded generator (mulberry32): a soak's kill points can be replayed with its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seller of the soak's own, with a budget large enough for every deal it will sell. */
async function publishSeller(policiesRoot: string, deals: number) {
  const keys = generateEd25519KeyPair();
  const directory = join(policiesRoot, SELLER);
  await mkdir(directory, { recursive: true });
  const template = { ...(await readTemplateFile(DEMO_TEMPLATE)), seller: SELLER };
  await writeFile(templatePath(directory, template.id), JSON.stringify(template, null, 2));
  await writeFile(
    signaturePath(directory, template.id),
    JSON.stringify(signTemplate(template, keys.privateKeyPem)),
  );
  // Two per deal (the template's ε), with room to spare; policies allow at most 1000.
  const epsilon = Math.min(1000, 3 * deals + 10);
  const policy: DatasetPolicy = {
    seller: SELLER,
    version: 1,
    datasets: {
      patients: { windowDays: 30, total: { epsilon, delta: 1e-3 }, perBuyer: { epsilon, delta: 1e-3 } },
    },
  };
  await writeFile(
    datasetPolicyPath(directory),
    JSON.stringify({ policy, signature: signDatasetPolicy(policy, keys.privateKeyPem) }, null, 2),
  );
  return { publicKey: keys.publicKey, templateId: template.id };
}

/** Retries what fails because a process is down (connection refused, a 5xx), until `deadline`. */
async function untilAnswered<T>(deadline: number, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const transient = !(error instanceof TuskApiError) || error.status >= 500;
      if (!transient || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

/** One deal, as its buyer would: order it, wait for the answer, confirm it, wait until it is paid. */
async function runDeal(
  deployment: LocalDeployment,
  templateId: string,
  dealId: string,
  parameters: Record<string, string | number>,
  timeoutMs: number,
) {
  const { client } = deployment.buyer;
  const deadline = Date.now() + timeoutMs;
  const { templates } = await untilAnswered(deadline, () =>
    client.get<{ templates: { id: string; hash: string; price: string }[] }>('/templates'),
  );
  const template = templates.find((t) => t.id === templateId)!;
  await untilAnswered(deadline, async () => {
    try {
      await client.request(
        'POST',
        '/deals',
        client.signed('cohort_query', {
          dealId,
          templateId,
          templateHash: template.hash,
          parameters,
          price: template.price,
          buyerPublicKey: deployment.buyer.resultPublicKey,
          compliance: COMPLIANCE,
        }),
      );
    } catch (error) {
      // An earlier attempt reached Temporal before its answer was lost: the deal exists once.
      if (!(error instanceof TuskApiError && error.code === 'deal_exists')) throw error;
    }
  });
  for (;;) {
    const status = await untilAnswered(deadline, () => client.get<DealStatus>(`/deals/${dealId}`));
    if (status.problem)
      throw new Error(`deal ${dealId} ended with ${status.problem.code}: ${status.problem.reason}`);
    if (status.stage === 'settled') return status;
    if (status.stage === 'delivered')
      await untilAnswered(deadline, () => client.post(`/deals/${dealId}/confirm`)).catch((error: unknown) => {
        if (!(error instanceof TuskApiError && error.status === 409)) throw error;
      });
    if (Date.now() > deadline) throw new Error(`deal ${dealId} is still ${status.stage}`);
    await sleep(300);
  }
}

/** A worker restarted while Temporal itself restarts exits at once: try again, as a supervisor would. */
async function restartUntilUp(deployment: LocalDeployment, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deployment.restart(name);
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(2_000 * attempt);
    }
  }
}

/** Locks, releases and refunds per deal, from the ledger's own lines. */
async function paymentsByDeal(ledgerFile: string) {
  const entries = (await readFile(ledgerFile, 'utf8'))
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ledgerEntry.parse(JSON.parse(line)));
  const byDeal = new Map<string, Record<string, number>>();
  for (const entry of entries) {
    if (!('dealId' in entry)) continue;
    const counts = byDeal.get(entry.dealId) ?? {};
    counts[entry.kind] = (counts[entry.kind] ?? 0) + 1;
    byDeal.set(entry.dealId, counts);
  }
  return byDeal;
}

/**
 * N one-time deals on a local deployment while its workers are SIGKILLed at random points and
 * restarted, and Temporal and Redis are each restarted once with deals in flight. The report
 * says how many deals were lost, paid twice, and what the buyer's privacy budget shows spent.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const random = seededRandom(options.seed);
  const workDir = await mkdtemp(join(tmpdir(), 'tusk-soak-'));
  await mkdir(join(workDir, 'stack'), { recursive: true });
  const stack = await startRestartableStack(join(workDir, 'stack'), log);
  const began = Date.now();
  const kills: Record<string, number> = Object.fromEntries(KILLED_WORKERS.map((name) => [name, 0]));
  let temporalRestarts = 0;
  let redisRestarts = 0;
  let deployment: LocalDeployment | undefined;
  // Interrupted, stop every process first: the workers are not in a process group of their own.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`soak: ${signal}, stopping`);
    void Promise.allSettled([deployment?.stop(), stack.stop()]).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await mkdir(join(workDir, 'home'), { recursive: true });
    const seller = await publishSeller(join(workDir, 'query-policies'), options.deals);
    deployment = await deployLocal({
      home: join(workDir, 'home'),
      temporalAddress: stack.temporalAddress,
      redisUrl: stack.redisUrl,
      rows: options.rows,
      sellerId: SELLER,
      sellerPublicKey: seller.publicKey,
      policiesRoot: join(workDir, 'query-policies'),
      buyerFunds: BigInt(options.deals) * 1000n + 1000n,
      acceptanceTimeoutMs: 600_000,
      log,
    });
    const running = deployment;

    // Faults, one at a time: a worker is SIGKILLed, restarted, and once it is ready the next one
    // goes after a random pause; first every worker once (shuffled), then any at random. Temporal
    // and Redis restart when the launcher asks (with deals in flight).
    const pending: ('temporal' | 'redis')[] = [];
    let done = false;
    const order = [...KILLED_WORKERS].sort(() => random() - 0.5);
    const chaos = (async () => {
      while (!done || pending.length > 0) {
        const [min, max] = options.killEveryMs;
        await sleep(min + random() * (max - min));
        const forced = pending.shift();
        if (forced) {
          log(`soak: restarting ${forced === 'temporal' ? 'Temporal' : 'Redis'}`);
          if (forced === 'temporal') await stack.restartTemporal();
          else await stack.restartRedis();
          if (forced === 'temporal') temporalRestarts++;
          else redisRestarts++;
          continue;
        }
        if (done) break;
        const name = order.shift() ?? KILLED_WORKERS[Math.floor(random() * KILLED_WORKERS.length)]!;
        await running.services.get(name)!.kill();
        kills[name]!++;
        log(`soak: killed the ${name}`);
        await restartUntilUp(running, name);
      }
    })();
    // Awaited once the deals are done; until then a failure must not count as unhandled.
    let chaosFailed = false;
    chaos.catch(() => (chaosFailed = true));
    const killsSoFar = () => Object.values(kills).reduce((sum, n) => sum + n, 0);
    /** The first deals start as the kills go on, so every worker dies with deals in flight. */
    const pace = async (index: number) => {
      const needed = index === 0 ? 0 : Math.min(index + 1, KILLED_WORKERS.length);
      while (killsSoFar() < needed && !chaosFailed) await sleep(200);
    };

    const dealIds = Array.from({ length: options.deals }, (_, i) => `soak-${options.seed}-${i}`);
    const lost: string[] = [];
    let settled = 0;
    let next = 0;
    const lane = async () => {
      while (next < dealIds.length) {
        const index = next++;
        if (index === Math.floor(dealIds.length / 3)) pending.push('temporal');
        if (index === Math.floor((2 * dealIds.length) / 3)) pending.push('redis');
        const dealId = dealIds[index]!;
        await pace(index);
        try {
          await runDeal(running, seller.templateId, dealId, parametersOf(index), options.dealTimeoutMs);
          settled++;
          log(`soak: ${dealId} settled (${settled}/${dealIds.length})`);
        } catch (error) {
          lost.push(dealId);
          log(`soak: ${dealId} LOST: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, dealIds.length) }, lane));
    done = true;
    await chaos;

    const payments = await paymentsByDeal(running.ledger.path);
    const doublePayments = dealIds.filter((id) => {
      const c = payments.get(id) ?? {};
      return (c.lock ?? 0) > 1 || (c.release ?? 0) > 1 || (c.refund ?? 0) > 1 || (c.release && c.refund);
    });
    const budget = await untilAnswered(Date.now() + 60_000, () =>
      running.buyer.client.get<BudgetView>(`/budgets/${SELLER}/patients`),
    );
    const price = 1000n;
    const fee = (price * 250n) / 10_000n;
    const count = BigInt(settled);
    return {
      deals: options.deals,
      settled,
      durationS: Math.round((Date.now() - began) / 1000),
      kills,
      temporalRestarts,
      redisRestarts,
      lost,
      doublePayments,
      budget: {
        spentEpsilon: budget.buyer?.spent.epsilon ?? Number.NaN,
        totalSpentEpsilon: budget.total.spent.epsilon,
        expectedEpsilon: 2 * settled,
      },
      balances: {
        buyer: String(await running.ledger.balanceOf('demo-buyer')),
        seller: String(await running.ledger.balanceOf(SELLER)),
        operator: String(await running.ledger.balanceOf(OPERATOR_ACCOUNT)),
        expected: {
          buyer: String(BigInt(options.deals) * 1000n + 1000n - count * price),
          seller: String(count * (price - fee)),
          operator: String(count * fee),
        },
      },
      workDir,
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await deployment?.stop();
    await stack.stop();
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
}

/** What must hold after a soak; an empty list means it passed. */
export function soakFailures(report: SoakReport): string[] {
  const failures: string[] = [];
  if (report.lost.length) failures.push(`${report.lost.length} deals lost: ${report.lost.join(', ')}`);
  if (report.doublePayments.length) failures.push(`paid twice: ${report.doublePayments.join(', ')}`);
  if (Math.abs(report.budget.spentEpsilon - report.budget.expectedEpsilon) > 1e-9)
    failures.push(
      `budget shows ε ${report.budget.spentEpsilon} spent, one charge per deal is ${report.budget.expectedEpsilon}`,
    );
  const { expected, ...actual } = report.balances;
  for (const account of ['buyer', 'seller', 'operator'] as const)
    if (actual[account] !== expected[account])
      failures.push(`${account} balance ${actual[account]}, expected ${expected[account]}`);
  if (report.temporalRestarts !== 1 || report.redisRestarts !== 1)
    failures.push(
      `Temporal restarted ${report.temporalRestarts}×, Redis ${report.redisRestarts}× (once each expected)`,
    );
  const unkilled = Object.entries(report.kills)
    .filter(([, n]) => n === 0)
    .map(([name]) => name);
  if (unkilled.length) failures.push(`never killed: ${unkilled.join(', ')}`);
  return failures;
}
