import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readUpFile, type UpFile } from '../../cli/service/instance';
import { sellerWorkspace } from '../../lib/seller-workspace';
import { TUSK, tusk, tuskOk } from './cli/run-tusk';

const SELLER = 'shop-west';
const BUYER = 'orders-analyst';
const TEMPLATE = 'orders-by-region';
const CHECKOUT_CATALOG = resolve(__dirname, '../../query-policies', SELLER);
const OPERATOR_PROCESSES = ['api', 'deals worker', 'settlement worker', 'coordinator worker', 'notifier'];

/**
 * The operator's `tusk up` in one home, and the seller's `tusk up --perimeter` in another, each run
 * from its own directory outside the checkout: the seller's perimeter is a separate process that
 * knows the operator only by the addresses, log key and codec keys it was handed. A deal is bought
 * through the operator's API and answered by that perimeter.
 */
describe('tusk up --perimeter: a seller perimeter beside the operator', () => {
  let operatorHome: string;
  let sellerHome: string;
  let buyerHome: string;
  const runs: { name: string; child: ChildProcess; exited: Promise<number | null>; output: () => string }[] =
    [];
  let api: string;
  let dealId: string;
  const workspace = () => sellerWorkspace(sellerHome, SELLER);
  const asSeller = () => ({ TUSK_HOME: sellerHome, TUSK_API_URL: api });
  const asBuyer = () => ({ TUSK_HOME: buyerHome, TUSK_API_URL: api });

  beforeAll(async () => {
    operatorHome = await mkdtemp(join(tmpdir(), 'tusk-op-'));
    sellerHome = await mkdtemp(join(tmpdir(), 'tusk-seller-'));
    buyerHome = await mkdtemp(join(tmpdir(), 'tusk-buyer-'));
    await sellerWithSignedTemplate(sellerHome);
    await tuskOk(['operator', 'party', 'add', SELLER, '--from', workspace().sellerFile], {
      TUSK_HOME: operatorHome,
    });
    // The operator's service, on the run's Temporal and Redis; no TUSK_POLICIES_ROOT: the catalog
    // follows its home.
    const operator = start(
      'operator',
      ['up', '--home', operatorHome, '--api-port', '0', '--metrics-port', '0'],
      { TEMPORAL_ADDRESS: inject('temporalAddress'), REDIS_URL: inject('redisUrl') },
      operatorHome,
    );
    const up = await allReady(operatorHome, OPERATOR_PROCESSES.length, operator.output);
    api = up.addresses!.api!;
    const operatorKey = /operator key \(pin it[^)]*\): (\S+)/.exec(operator.output())![1]!;
    // What the operator hands the seller: its API (the log), its log key, Temporal and codec keys.
    const perimeterFile = workspace().perimeterFile;
    const config = JSON.parse(await readFile(perimeterFile, 'utf8')) as Record<string, unknown>;
    await writeFile(
      perimeterFile,
      JSON.stringify({ ...config, logUrl: api, operatorPublicKey: operatorKey }),
    );
    const perimeter = start(
      'seller',
      ['up', '--perimeter', '--home', sellerHome, '--metrics-port', '0'],
      {
        TEMPORAL_ADDRESS: up.addresses!.temporal!,
        TUSK_CODEC_KEYS: await readFile(join(operatorHome, 'codec-keys.json'), 'utf8'),
        TUSK_BLOB_DIR: join(operatorHome, 'blobs'),
        REDIS_URL: '',
      },
      sellerHome,
    );
    await allReady(sellerHome, 1, perimeter.output);
  }, 300_000);

  afterAll(async () => {
    for (const home of [sellerHome, operatorHome]) if (home) await tusk(['down', '--home', home], {});
    for (const { child } of runs) if (child.exitCode === null) child.kill('SIGKILL');
    for (const home of [operatorHome, sellerHome, buyerHome])
      if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  /** Runs bin/tusk in `cwd`, keeping its output; TEMPORAL_ADDRESS and REDIS_URL only as given. */
  function start(name: string, args: string[], env: Record<string, string>, cwd: string) {
    const base = { ...process.env };
    for (const variable of ['TEMPORAL_ADDRESS', 'REDIS_URL', 'TUSK_API_URL', 'TUSK_POLICIES_ROOT'])
      delete base[variable];
    const child = spawn(TUSK, args, {
      cwd,
      env: { ...base, ...Object.fromEntries(Object.entries(env).filter(([, value]) => value)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const run = { name, child, exited, output: () => output };
    runs.push(run);
    return run;
  }

  it("publishes the seller's template into the operator's home, not the checkout", async () => {
    const published = await tuskOk(
      ['template', 'publish', join(workspace().dir, `${TEMPLATE}.json`), '--as', SELLER],
      asSeller(),
    );
    expect(published).toMatch(new RegExp(`^published ${TEMPLATE} v1 of ${SELLER}: sha256:`));
    expect(existsSync(join(operatorHome, 'catalog', SELLER, `${TEMPLATE}.signature.json`))).toBe(true);
    expect(existsSync(CHECKOUT_CATALOG)).toBe(false);
  });

  it("a buyer's deal is answered by the seller's own perimeter process", async () => {
    const keys = await tuskOk(['buyer', 'keygen', BUYER], asBuyer());
    const publicKey = /register it\): (\S+)/.exec(keys)![1]!;
    const asOperator = { TUSK_HOME: operatorHome };
    await tuskOk(
      ['operator', 'party', 'add', BUYER, '--role', 'buyer', '--public-key', publicKey],
      asOperator,
    );
    await tuskOk(['operator', 'fund', BUYER, '5000'], asOperator);
    const bought = await tusk(
      [
        ...['buyer', 'deal', TEMPLATE, '--as', BUYER],
        ...['--jurisdiction', 'US', '--purpose', 'research', '--accept', 'financial', '--wait'],
      ],
      asBuyer(),
    );
    expect(bought.code, `${bought.stderr}\n${runs.map((r) => r.output().slice(-2000)).join('\n')}`).toBe(0);
    dealId = /^deal (\S+): delivered$/m.exec(bought.stdout)![1]!;
    const table = await tuskOk(['buyer', 'result', dealId, '--as', BUYER], asBuyer());
    expect(table).toMatch(/^north\s+\d+\s+\d+$/m);
    expect(table).toMatch(/^south\s+\d+\s+\d+$/m);
    expect(table).toContain('commitment verified');
    // The answer came from the process the seller runs: its log, in its home, names the deal.
    const released = async () =>
      (await readFile(join(sellerHome, 'logs', 'perimeter-worker.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { dealId?: string; msg?: string })
        .some((line) => line.dealId === dealId && line.msg === 'approved query released');
    await expect.poll(released, { timeout: 10_000 }).toBe(true);
    expect(existsSync(join(operatorHome, 'logs', 'perimeter-worker.log'))).toBe(false);
    expect(existsSync(join(operatorHome, 'perimeter'))).toBe(false);
  });

  it('the buyer confirms and the seller is paid; tusk down stops each side', async () => {
    expect(await tuskOk(['buyer', 'confirm', dealId, '--as', BUYER], asBuyer())).toMatch(/settled|confirmed/);
    const paid = () => tuskOk(['operator', 'balance', SELLER], { TUSK_HOME: operatorHome });
    await expect.poll(paid, { timeout: 30_000 }).toMatch(new RegExp(`^${SELLER}: [1-9]\\d*$`, 'm'));
    for (const home of [sellerHome, operatorHome])
      expect(await tuskOk(['down', '--home', home], {})).toContain('stopped');
    for (const { name, exited } of runs) expect(await exited, name).toBe(0);
  }, 60_000);
});

/** Waits until `home`'s up.json lists `count` Tusk processes, every one ready (beside Temporal and Redis). */
async function allReady(home: string, count: number, output: () => string): Promise<UpFile> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const up = await readUpFile(home);
    const ready = up?.processes.filter((p) => p.state === 'ready').length ?? 0;
    if (up && up.processes.length === count && ready === count) return up;
    if (Date.now() > deadline)
      throw new Error(`tusk up in ${home} not ready within 240 s; output:\n${output().slice(-4000)}`);
    await sleep(250);
  }
}

/** A seller as `tusk seller init`, `import`, `template new`, a review, `sign` and `policy` leave it. */
async function sellerWithSignedTemplate(home: string): Promise<void> {
  const env = { TUSK_HOME: home };
  const rows = Array.from({ length: 600 }, (_, i) => `c-${i},${['north', 'south'][i % 2]},${i % 50}`);
  await writeFile(join(home, 'orders.csv'), `customer_id,region,amount\n${rows.join('\n')}\n`);
  await tuskOk(['seller', 'init', SELLER], env);
  await tuskOk(['seller', 'import', join(home, 'orders.csv'), '--table', 'orders', '--seller', SELLER], env);
  const templateArgs = ['--table', 'orders', '--seller', SELLER, '--id', TEMPLATE, '--dimensions', 'region'];
  await tuskOk(['template', 'new', ...templateArgs], env);
  const file = join(sellerWorkspace(home, SELLER).dir, `${TEMPLATE}.json`);
  const draft = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const reviewed = {
    ...draft,
    title: 'Orders by region',
    description: 'Customers and order value per region.',
  };
  await writeFile(file, JSON.stringify(reviewed));
  await tuskOk(['template', 'sign', file, '--seller', SELLER], env);
  await tuskOk(['seller', 'policy', '--seller', SELLER, '--dataset', 'orders'], env);
}
