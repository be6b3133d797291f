import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import type { DealStatus } from '../../workflows/deal/shapes';
import { deployLocal, type LocalDeployment } from './local-deployment';
import { soakFailures, type SoakObservations } from './soak-checks';
import { startRestartableStack } from './soak-stack';
import { confirmDeal } from '../../lib/signed-actions';

export { soakFailures };

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
/** The processes SIGKILLed at random, the API among them. */
export const KILLED_PROCESSES = [
  'api',
  'deals worker',
  'perimeter worker',
  'settlement worker',
  'coordinator worker',
  'notifier',
] as const;
/** Faults the soak injects once each at set points, besides the random kills. */
export const SCHEDULED_FAULTS = [
  'Temporal crash',
  'Redis crash',
  'settlement crash after a lock',
  'settlement crash after a payout',
] as const;
type ScheduledFault = (typeof SCHEDULED_FAULTS)[number];
/** The template's ε per answer. */
const EPSILON_PER_DEAL = 2;
/** Longest a crash-armed settlement worker may wait for the write it crashes after. */
const ARMED_CRASH_WAIT_MS = 120_000;

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

/** What the soak saw (soak-checks.ts judges it), and how long it took. */
export interface SoakReport extends SoakObservations {
  durationS: number;
  /** Random SIGKILLs per process. */
  kills: Record<string, number>;
  /** ε all buyers together have spent on the dataset. */
  totalSpentEpsilon: number | undefined;
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
    client.get<{ templates: { id: string; seller: string; hash: string; price: string }[] }>('/templates'),
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
          sellerId: template.seller,
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
      await untilAnswered(deadline, () => confirmDeal(client, dealId)).catch((error: unknown) => {
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

/** The ledger's own lines, as the settlement worker wrote them. */
async function readLedger(ledgerFile: string) {
  return (await readFile(ledgerFile, 'utf8'))
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ledgerEntry.parse(JSON.parse(line)));
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** `promise`, or false once `ms` have passed (the timer does not hold the process open). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Restarts the settlement worker armed to SIGKILL itself right after its next durable ledger write
 * of `kind` (lib/crash-point.ts), says when it is armed, waits for that crash, and starts it again
 * unarmed. True when the crash happened.
 */
async function crashSettlementAfter(
  deployment: LocalDeployment,
  kind: 'lock' | 'release',
  onArmed: () => void,
): Promise<boolean> {
  await deployment.services.get('settlement worker')!.kill();
  const armed = await deployment.restart('settlement worker', { TUSK_CRASH_AT: `ledger-write:${kind}` });
  onArmed();
  const crashed = await within(exitOf(armed.process), ARMED_CRASH_WAIT_MS);
  if (!crashed) await armed.kill();
  await restartUntilUp(deployment, 'settlement worker');
  return crashed && armed.process.signalCode === 'SIGKILL';
}

/** The buyer's webhook: every notification it receives, by deal. */
async function startWebhook() {
  const events = new Map<string, string[]>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        const { dealId, event } = JSON.parse(body) as { dealId: string; event: string };
        events.set(dealId, [...(events.get(dealId) ?? []), event]);
        response.end('ok');
      } catch {
        response.statusCode = 400;
        response.end('not a notification');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tusk`,
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Settled deals whose buyer got no `result_ready`, after waiting up to `ms` for stragglers. */
async function unnotifiedAfter(settled: string[], events: Map<string, string[]>, ms: number) {
  const missing = () => settled.filter((id) => !events.get(id)?.includes('result_ready'));
  const deadline = Date.now() + ms;
  while (missing().length > 0 && Date.now() < deadline) await sleep(500);
  return missing();
}

/**
 * N one-time deals on a local deployment while its processes (the API and every worker) are
 * SIGKILLed at random points and restarted; Temporal and Redis are each crashed (SIGKILL) once with
 * deals in flight, and the settlement worker is crashed right after a ledger write of a lock and of
 * a payout. The report holds what the checks (soak-checks.ts) judge: the ledger's lines, the buyer's
 * budget, balances, notifications received.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const random = seededRandom(options.seed);
  const workDir = await mkdtemp(join(tmpdir(), 'tusk-soak-'));
  await mkdir(join(workDir, 'stack'), { recursive: true });
  const stack = await startRestartableStack(join(workDir, 'stack'), log);
  const webhook = await startWebhook();
  const began = Date.now();
  const kills: Record<string, number> = Object.fromEntries(KILLED_PROCESSES.map((name) => [name, 0]));
  const faults: Record<string, number> = Object.fromEntries(SCHEDULED_FAULTS.map((name) => [name, 0]));
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
    const buyerFunds = BigInt(options.deals) * 1000n + 1000n;
    deployment = await deployLocal({
      home: join(workDir, 'home'),
      temporalAddress: stack.temporalAddress,
      redisUrl: stack.redisUrl,
      rows: options.rows,
      sellerId: SELLER,
      sellerPublicKey: seller.publicKey,
      policiesRoot: join(workDir, 'query-policies'),
      buyerFunds,
      buyerWebhookUrl: webhook.url,
      acceptanceTimeoutMs: 600_000,
      log,
    });
    const running = deployment;

    const scheduled: Record<ScheduledFault, (onArmed: () => void) => Promise<boolean>> = {
      'Temporal crash': (onArmed) => stack.crashTemporal().then(() => (onArmed(), true)),
      'Redis crash': (onArmed) => stack.crashRedis().then(() => (onArmed(), true)),
      'settlement crash after a lock': (onArmed) => crashSettlementAfter(running, 'lock', onArmed),
      'settlement crash after a payout': (onArmed) => crashSettlementAfter(running, 'release', onArmed),
    };
    // Faults, one at a time: a process is SIGKILLed, restarted, and once it is ready the next one
    // goes after a random pause; first every process once (shuffled), then any at random. The
    // scheduled faults go when the deal lanes ask for them (with deals in flight).
    const pending: { fault: ScheduledFault; onArmed: () => void }[] = [];
    let done = false;
    const order = [...KILLED_PROCESSES].sort(() => random() - 0.5);
    const chaos = (async () => {
      while (!done || pending.length > 0) {
        const [min, max] = options.killEveryMs;
        await sleep(min + random() * (max - min));
        const due = pending.shift();
        if (due) {
          const { fault, onArmed } = due;
          log(`soak: ${fault}`);
          if (await scheduled[fault](onArmed)) faults[fault]!++;
          else log(`soak: ${fault} did not happen`);
          continue;
        }
        if (done) break;
        const name = order.shift() ?? KILLED_PROCESSES[Math.floor(random() * KILLED_PROCESSES.length)]!;
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
    /** The first deals start as the kills go on, so every process dies with deals in flight. */
    const n = options.deals;
    const pace = async (index: number) => {
      const needed =
        index === 0
          ? 0
          : index === n - 1
            ? KILLED_PROCESSES.length
            : Math.min(index + 1, KILLED_PROCESSES.length);
      while (killsSoFar() < needed && !chaosFailed) await sleep(200);
    };
    /** Each scheduled fault goes as a deal starts, so that deal's own lock and payout are ahead of it. */
    const faultAt = (index: number) =>
      (
        [
          [Math.floor(n / 3), 'Temporal crash'],
          [Math.floor(n / 2), 'settlement crash after a lock'],
          [Math.floor((2 * n) / 3), 'Redis crash'],
          [n - 1, 'settlement crash after a payout'],
        ] as const
      )
        .filter(([at]) => at === index)
        .map(([, fault]) => fault);

    const deals = Array.from({ length: n }, (_, i) => `soak-${options.seed}-${i}`);
    const lost: string[] = [];
    const settled: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < deals.length) {
        const index = next++;
        const dealId = deals[index]!;
        await pace(index);
        // A settlement crash is armed before the deal starts, so that deal's own lock or payout hits it.
        const armed = faultAt(index).map(
          (fault) => new Promise<void>((onArmed) => pending.push({ fault, onArmed })),
        );
        while (armed.length && !chaosFailed && !(await within(Promise.all(armed), 1_000)));
        try {
          await runDeal(running, seller.templateId, dealId, parametersOf(index), options.dealTimeoutMs);
          settled.push(dealId);
          log(`soak: ${dealId} settled (${settled.length}/${deals.length})`);
        } catch (error) {
          lost.push(dealId);
          log(`soak: ${dealId} LOST: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, deals.length) }, lane));
    done = true;
    await chaos;

    const budget = await untilAnswered(Date.now() + 60_000, () =>
      running.buyer.client.get<BudgetView>(`/budgets/${SELLER}/patients`),
    );
    const price = 1000n;
    const fee = (price * 250n) / 10_000n;
    const count = BigInt(settled.length);
    const balance = async (account: string) => String(await running.ledger.balanceOf(account));
    return {
      deals,
      settled,
      lost,
      durationS: Math.round((Date.now() - began) / 1000),
      kills,
      faults: { ...kills, ...faults },
      ledger: await readLedger(running.ledger.path),
      spentEpsilon: budget.buyer?.spent.epsilon,
      totalSpentEpsilon: budget.total.spent.epsilon,
      epsilonPerDeal: EPSILON_PER_DEAL,
      balances: {
        buyer: { actual: await balance('demo-buyer'), expected: String(buyerFunds - count * price) },
        seller: { actual: await balance(SELLER), expected: String(count * (price - fee)) },
        operator: { actual: await balance(OPERATOR_ACCOUNT), expected: String(count * fee) },
      },
      unnotified: await unnotifiedAfter(settled, webhook.events, 30_000),
      workDir,
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await deployment?.stop();
    await stack.stop();
    await webhook.close();
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
}
