import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLedger } from '../../activities/settlement/local-ledger';
import { waitForStage } from '../../cli/buyer/commands';
import { addParty } from '../../lib/parties';
import type { ProcessStatus } from '../../cli/service/supervisor';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { TuskApiError, TuskClient } from '../../lib/tusk-client';
import type { DealStatus } from '../../workflows/deal/state';
import { isFinished, RESEARCH_IN_US } from './harness';
import { tusk, tuskOk } from './cli/run-tusk';

const ROOT = resolve(__dirname, '../..');

const SECOND_SELLER = 'shop-east';
const PROCESS_COUNT = 9; // Temporal, Redis, the API, four workers, two perimeters
const DEMO_PERIMETER = 'perimeter worker demo-seller';

/**
 * `tusk up` as a user runs it: its own Temporal (with the Web UI) and Redis, every process,
 * supervised; the demo seller's perimeter and one a seller set up with `tusk seller init`.
 */
describe('tusk up', () => {
  let home: string;
  let up: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  const statuses = async (): Promise<ProcessStatus[]> =>
    (JSON.parse(await readFile(join(home, 'up.json'), 'utf8')) as { processes: ProcessStatus[] }).processes;
  const status = async (name: string) => (await statuses()).find((s) => s.name === name)!;
  const url = async (name: string) => (await status(name)).shows.split(' ')[0]!.replace(/\/metrics$/, '');
  const text = async (address: string) => {
    const response = await fetch(address);
    return { status: response.status, body: await response.text() };
  };
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`${what} within ${timeoutMs / 1000} s; output:\n${output.slice(-3000)}`);
      await sleep(250);
    }
  }

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-up-'));
    await sellerOfItsOwn(home);
    const env = { ...process.env };
    delete env.TEMPORAL_ADDRESS; // tusk up starts its own
    delete env.REDIS_URL;
    delete env.TUSK_API_URL; // the CLI finds the API in up.json
    // As the README starts it: through npm, so a signal to npm must reach tusk up and its children.
    up = spawn(
      'npm',
      [
        ...['start', '--silent', '--', '--home', home, '--demo-rows', '3000'],
        ...[
          '--api-port',
          '0',
          '--metrics-port',
          '0',
          '--temporal-port',
          '0',
          '--ui-port',
          '0',
          '--redis-port',
          '0',
        ],
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    up.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    up.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolveExit) => up.once('exit', (code) => resolveExit(code)));
    await until(
      'every process ready',
      async () =>
        (await statuses()).length === PROCESS_COUNT && (await statuses()).every((s) => s.state === 'ready')
          ? true
          : undefined,
      280_000,
    );
  }, 300_000);

  afterAll(async () => {
    if (up?.exitCode === null) up.kill('SIGKILL');
    for (const { pid } of await statuses().catch(() => [])) if (pid) kill(pid, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  });

  it('prints the Temporal Web UI on loopback, and the API answers healthy', async () => {
    const ui = /Temporal Web UI: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(ui).toBeDefined();
    expect((await text(ui!)).status).toBe(200);
    const health = await text(`${await url('api')}/health`);
    expect(health).toEqual({ status: 200, body: JSON.stringify({ status: 'ok', temporal: 'up' }) });
  });

  it('knows a party registered while it runs, and runs a deal whose metrics and logs say so', async () => {
    const api = await url('api');
    const keys = generateEd25519KeyPair();
    const client = new TuskClient(api, 'late-buyer', keys.privateKeyPem);
    await expect(client.get('/templates')).rejects.toMatchObject({
      status: 401,
      reason: 'the request is not signed by a key registered for this party id (unknown id or wrong key)',
    } satisfies Partial<TuskApiError>);
    await addParty(join(home, 'parties.json'), {
      id: 'late-buyer',
      role: 'buyer',
      publicKey: keys.publicKey,
    });
    await new LocalLedger(join(home, 'ledger.jsonl')).mint('late-buyer', 5000n);
    const { templates } = await client.get<{
      templates: { id: string; seller: string; hash: string; price: string }[];
    }>('/templates');
    const template = templates.find((t) => t.id === 'cohort-cost-by-zip3')!;
    const dealId = `up-${crypto.randomUUID()}`;
    await client.post<DealStatus>(
      '/deals',
      client.signed('cohort_query', {
        dealId,
        templateId: template.id,
        sellerId: template.seller,
        templateHash: template.hash,
        parameters: { min_age: 30, max_age: 50, sex: 'F' },
        price: template.price,
        buyerPublicKey: generateX25519KeyPair().publicKey,
        compliance: RESEARCH_IN_US,
      }),
    );
    const finished = await waitForStage(client, dealId, isFinished, 120_000);
    expect(finished.stage).toBe('delivered');

    const apiMetrics = (await text(`${api}/metrics`)).body;
    expect(
      sample(apiMetrics, 'tusk_lifecycles_started_total', { kind: 'cohort_query', service: 'api' }),
    ).toBe(1);
    const perimeter = (await text(`${await url(DEMO_PERIMETER)}/metrics`)).body;
    expect(sample(perimeter, 'tusk_dataset_epsilon_spent', { dataset: 'patients' })).toBeGreaterThan(0);
    const ran = { task_queue: 'perimeter.demo-seller', activity: 'runApprovedQuery', outcome: 'ok' };
    expect(sample(perimeter, 'tusk_activity_duration_seconds_count', ran)).toBe(1);
    // The Temporal SDK's own metrics are served on the same route.
    expect(sample(perimeter, 'temporal_worker_start', { task_queue: 'perimeter.demo-seller' })).toBe(1);
    const settlement = (await text(`${await url('settlement worker')}/metrics`)).body;
    const locked = { action: 'lockEscrow', outcome: 'ok' };
    expect(sample(settlement, 'tusk_settlement_transaction_seconds_count', locked)).toBe(1);
    const deals = (await text(`${await url('deals worker')}/metrics`)).body;
    expect(sample(deals, 'temporal_worker_start', { task_queue: 'deals' })).toBe(1);
    const stage = { kind: 'cohortQueryDeal', stage: 'runApprovedQuery', outcome: 'ok' };
    expect(sample(perimeter, 'tusk_deal_stage_total', stage)).toBe(1);

    // Every process logs JSON lines, and the deal's whole path can be found by its id: the API's
    // request lines, the deal workflow on the deals worker, the escrow on the settlement worker, the
    // query in the perimeter. Lines reach the files through the supervisor's pipe, which may trail
    // the deal's delivery a little.
    const linesOf = async (process: string) =>
      (await readFile(join(home, 'logs', `${process}.log`), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.dealId === dealId);
    const released = async () =>
      (await linesOf('perimeter-worker-demo-seller')).find((line) => line.msg === 'approved query released');
    await expect.poll(released, { timeout: 10_000 }).toBeDefined();
    expect(await released()).toMatchObject({ workflowId: dealId, service: 'perimeter-worker' });
    const messages = async (process: string) => (await linesOf(process)).map((line) => line.msg);
    expect(await messages('api')).toContain('request completed');
    expect(await messages('deals-worker')).toEqual(expect.arrayContaining(['Workflow started']));
    const settled = (await linesOf('settlement-worker')).map((line) => line.activityType);
    expect(settled).toEqual(expect.arrayContaining(['lockEscrow']));
  });

  it('restarts a worker that crashed, and each worker answers its health endpoint', async () => {
    for (const name of [
      'deals worker',
      'settlement worker',
      'coordinator worker',
      'notifier',
      DEMO_PERIMETER,
      `perimeter worker ${SECOND_SELLER}`,
    ]) {
      const health = await text(`${await url(name)}/health`);
      expect(health.status, name).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', pid: (await status(name)).pid });
    }
    const before = await status('deals worker');
    kill(before.pid!, 'SIGKILL');
    const after = await until(
      'the deals worker restarted',
      async () => {
        const now = await status('deals worker');
        return now.state === 'ready' && now.pid !== before.pid ? now : undefined;
      },
      90_000,
    );
    expect(after.restarts).toBe(before.restarts + 1);
    const health = JSON.parse((await text(`${await url('deals worker')}/health`)).body) as { pid: number };
    expect(health.pid).toBe(after.pid);
  });

  it('runs the perimeter of a seller set up with tusk seller init, from its perimeter.json', async () => {
    const second = await status(`perimeter worker ${SECOND_SELLER}`);
    expect(second.state).toBe('ready');
    const log = await readFile(join(home, 'logs', `perimeter-worker-${SECOND_SELLER}.log`), 'utf8');
    expect(log).toContain(`perimeter.${SECOND_SELLER}`);
  });

  it('one tusk up per home: a second is refused and leaves the first running', async () => {
    const before = await statuses();
    const second = await tusk(['up', '--home', home, '--api-port', '0'], {});
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/tusk up is already running for .* \(pid \d+\).*tusk down/);
    const after = await statuses();
    expect(after.map((s) => [s.name, s.pid, s.state])).toEqual(before.map((s) => [s.name, s.pid, s.state]));
  });

  it('tusk status shows the addresses, and other commands find the API there', async () => {
    const shown = await tusk(['status', '--home', home], {});
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`tusk up is running for ${home}`);
    const json = JSON.parse(await tuskOk(['status', '--home', home, '--json'], {})) as {
      running: boolean;
      addresses: { api: string; temporal: string };
      processes: ProcessStatus[];
    };
    expect(json.running).toBe(true);
    expect(json.addresses.api).toBe(await url('api'));
    expect(json.processes).toHaveLength(PROCESS_COUNT);
    // No --api and no TUSK_API_URL: the log's head comes from the API that up.json names.
    const keys = await tuskOk(['buyer', 'keygen', 'status-reader', '--home', home], {});
    const publicKey = /register it\): (\S+)/.exec(keys)![1]!;
    await addParty(join(home, 'parties.json'), { id: 'status-reader', role: 'buyer', publicKey });
    const head = await tusk(['log', 'head', '--as', 'status-reader', '--home', home], { TUSK_API_URL: '' });
    expect(head.code, head.stderr).toBe(0);
    expect(head.stdout).toMatch(/^tree size \d+, root /);
    expect(head.stdout).toContain('NOT checked against a pinned operator key');
  });

  it('SIGTERM to `npm start` stops every process, and npm exits 0; status then says it is not running', async () => {
    const pids = (await statuses()).map((s) => s.pid!);
    expect(pids.every((pid) => pid > 0)).toBe(true);
    up.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect((await statuses()).map((s) => s.state)).toEqual(Array(PROCESS_COUNT).fill('stopped'));
    expect((await tusk(['status', '--home', home], {})).code).toBe(3);
    expect(await tuskOk(['down', '--home', home], {})).toContain('nothing to stop');
  }, 60_000);
});

/** A seller of its own, as `tusk seller init`, `import` and `policy` leave it under the home. */
async function sellerOfItsOwn(home: string): Promise<void> {
  const env = { TUSK_HOME: home };
  const rows = Array.from({ length: 200 }, (_, i) => `c-${i},${['north', 'south'][i % 2]},${i % 50}`);
  await writeFile(join(home, 'orders.csv'), `customer_id,region,amount\n${rows.join('\n')}\n`);
  await tuskOk(['seller', 'init', SECOND_SELLER], env);
  await tuskOk(
    ['seller', 'import', join(home, 'orders.csv'), '--table', 'orders', '--seller', SECOND_SELLER],
    env,
  );
  await tuskOk(['seller', 'policy', '--seller', SECOND_SELLER, '--dataset', 'orders'], env);
}

/** The value of the one sample of `name` whose labels include `labels`, from Prometheus text. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => has[key] === value)) return Number(match[3]);
  }
  return undefined;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
