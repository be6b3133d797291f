import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';

const ROOT = resolve(__dirname, '../..');

/** Starts the real perimeter worker entry and returns how it ended; it must end before Temporal is reached. */
function startPerimeter(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/perimeter.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TUSK_SELLER_ID: 'startup-seller',
      TUSK_LOG_URL: 'http://127.0.0.1:1',
      TUSK_OPERATOR_PUBLIC_KEY: generateEd25519KeyPair().publicKey,
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the perimeter worker checks its setup before it says it is ready', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tusk-perimeter-startup-'));
  const key = generateEd25519KeyPair().publicKey;
  const goodFile = join(dir, 'cards.duckdb');

  beforeAll(async () => {
    const instance = await DuckDBInstance.create(goodFile);
    const connection = await instance.connect();
    await connection.run('CREATE TABLE cards AS SELECT 1 AS card_id');
    connection.closeSync();
    instance.closeSync();
    writeFileSync(join(dir, 'not-duckdb.duckdb'), 'card_id\n1\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing DuckDB file stops it with a clear message, never "ready"', () => {
    const missing = join(dir, 'missing.duckdb');
    const run = startPerimeter({ TUSK_SELLER_PUBLIC_KEY: key, TUSK_DATASETS: `cards=${missing}` });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`dataset cards: no DuckDB file at ${missing}`);
    expect(run.output).not.toMatch(/ready/);
  });

  it('names every problem at once: a file that is not DuckDB, a file without the table, a bad key', () => {
    const run = startPerimeter({
      TUSK_SELLER_PUBLIC_KEY: '%'.repeat(43),
      TUSK_DATASETS: `text=${join(dir, 'not-duckdb.duckdb')},payments=${goodFile}`,
    });
    expect(run.status).toBe(1);
    expect(run.output).toContain('TUSK_SELLER_PUBLIC_KEY is not a base64url Ed25519 public key');
    expect(run.output).toContain('dataset text:');
    expect(run.output).toContain('does not open as a DuckDB database');
    expect(run.output).toContain(`dataset payments: ${goodFile} holds no table or view named payments`);
    expect(run.output).not.toMatch(/ready/);
  });

  it('good datasets pass on to the dataset policy check', () => {
    const run = startPerimeter({
      TUSK_SELLER_PUBLIC_KEY: key,
      TUSK_DATASETS: `cards=${goodFile}`,
      TUSK_POLICIES_DIR: join(dir, 'no-policies'),
    });
    expect(run.status).toBe(1);
    expect(run.output).not.toContain('dataset cards');
    expect(run.output).toMatch(/policy/i);
    expect(run.output).not.toMatch(/ready/);
  });
});
