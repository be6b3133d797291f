import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { readUpFile } from '../../cli/service/instance';
import { TUSK } from './cli/run-tusk';

/**
 * `tusk up` run from outside the checkout, as an installed tool is, with a seller whose dataset file
 * is missing: the perimeter cannot start, and tusk up says why and exits 1 within seconds instead of
 * restarting it for minutes.
 */
describe('tusk up that cannot start', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-up-fail-'));
    const seller = join(home, 'sellers', 'broken-shop');
    await mkdir(seller, { recursive: true });
    await writeFile(
      join(seller, 'seller.json'),
      JSON.stringify({ seller: 'broken-shop', publicKey: generateEd25519KeyPair().publicKey }),
    );
    await writeFile(
      join(seller, 'perimeter.json'),
      JSON.stringify({ sellerFile: 'seller.json', policiesDir: '.', datasets: { orders: 'missing.duckdb' } }),
    );
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('names the process and its own words, stops the rest and exits 1', async () => {
    const started = Date.now();
    const run = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        TUSK,
        ['up', '--home', home, '--api-port', '0', '--metrics-port', '0'],
        {
          cwd: home,
          env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), REDIS_URL: inject('redisUrl') },
          timeout: 170_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
      ),
    );
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/could not start: perimeter worker exited 2 times before it was ever ready/);
    expect(run.output).toContain('missing.duckdb');
    expect(run.output).not.toContain('ERR_MODULE_NOT_FOUND');
    // Well before the 180 s readiness limit: two tries, one second apart, and the others' start.
    expect(Date.now() - started).toBeLessThan(120_000);
    const file = await readUpFile(home);
    expect(file?.processes.every((p) => p.state !== 'ready')).toBe(true);
  }, 180_000);
});
