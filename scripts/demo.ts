import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { describePrivacy, openDealResult, waitForStage } from '../cli/buyer';
import { formatTable } from '../cli/format-table';
import { OPERATOR_ACCOUNT } from '../activities/settlement/local-ledger';
import type { DealStatus } from '../workflows/deal-state';
import { deployLocal, type LocalDeployment } from './lib/local-deployment';
import { startStack, type Stack } from './lib/stack';

const say = (line: string) => console.log(`• ${line}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const SHOWN_ROWS = 15;
const DEMO_COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};

async function balances(deployment: LocalDeployment): Promise<string> {
  const of = (account: string) => deployment.ledger.balanceOf(account);
  const [buyer, seller, operator] = await Promise.all([
    of('demo-buyer'),
    of(deployment.sellerId),
    of(OPERATOR_ACCOUNT),
  ]);
  return `buyer ${buyer}, seller ${seller}, operator fee ${operator}`;
}

async function runDeal(deployment: LocalDeployment): Promise<void> {
  const { client, resultKeyPem, resultPublicKey } = deployment.buyer;
  const { templates } = await client.get<{
    templates: { id: string; hash: string; price: string; title: string }[];
  }>('/templates');
  const template = templates.find((t) => t.id === 'cohort-cost-by-zip3');
  if (!template) throw new Error('the demo template is not in the catalog; is its signature intact?');
  say(`buyer picks "${template.title}" (${template.hash.slice(0, 19)}…), price ${template.price}`);
  say(`balances before: ${await balances(deployment)}`);

  const submitted = performance.now();
  const deal = await client.post<DealStatus>('/deals', {
    dealId: `demo-${randomUUID()}`,
    templateId: template.id,
    templateHash: template.hash,
    parameters: { min_age: 30, max_age: 50, sex: 'F' },
    price: template.price,
    buyerPublicKey: resultPublicKey,
    compliance: DEMO_COMPLIANCE,
  });
  const delivered = await waitForStage(
    client,
    deal.dealId,
    (s) => s.stage === 'delivered' || s.problem !== undefined,
  );
  const latency = performance.now() - submitted;
  if (delivered.problem)
    throw new Error(
      `the deal was ${delivered.stage}: ${delivered.problem.code}: ${delivered.problem.reason}`,
    );
  say(`deal ${deal.dealId} delivered: API submit → result available in ${seconds(latency)}`);

  const payload = await openDealResult(client, resultKeyPem, deal.dealId);
  const top = [...payload.rows].sort((a, b) => Number(b[2]) - Number(a[2])).slice(0, SHOWN_ROWS);
  console.log(
    `\nDecrypted by the buyer (women aged 30–50; largest ${SHOWN_ROWS} of ${payload.rows.length} groups):\n`,
  );
  console.log(formatTable(payload.columns, top));
  console.log(`\n${describePrivacy(payload.privacy)}\ncommitment verified.\n`);

  const confirmedAt = performance.now();
  await client.post(`/deals/${deal.dealId}/confirm`);
  await waitForStage(client, deal.dealId, (s) => s.stage === 'settled');
  say(`buyer confirmed; settled in ${seconds(performance.now() - confirmedAt)}`);
  say(`balances after: ${await balances(deployment)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1000) throw new Error('--rows takes a whole number of at least 1000');
  const home = resolve('.tusk/demo');
  await rm(home, { recursive: true, force: true });
  const began = performance.now();
  let stack: Stack | undefined;
  let deployment: LocalDeployment | undefined;
  const stopAll = async () => {
    await deployment?.stop();
    await stack?.stop();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    say('starting Temporal and Redis (whatever is not already running)…');
    stack = await startStack({ dataDir: join(home, 'stack'), log: (line) => say(line) });
    say('creating keys, parties, the seller dataset, and starting api + workers…');
    deployment = await deployLocal({
      home,
      temporalAddress: stack.temporalAddress,
      redisUrl: stack.redisUrl,
      rows,
      log: say,
    });
    await runDeal(deployment);
    say(`demo done in ${seconds(performance.now() - began)}; logs in ${join(home, 'logs')}`);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
