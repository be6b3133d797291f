import { DuckDBInstance } from '@duckdb/node-api';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxPool } from '../../activities/perimeter/sandbox-pool';
import {
  isQueryFailedAfterReservation,
  QUERY_FAILED_MESSAGE,
  runInSandbox,
} from '../../activities/perimeter/sandboxed-run';

const TIMEOUT_MS = 400;
const template = { dataset: 'patients', parameters: {} };

let directory: string;
let pool: SandboxPool;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tusk-uniform-'));
  const path = join(directory, 'patients.duckdb');
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  // Person 42's cost is 0: ln(cost) raises on that row only, quoting it in DuckDB's message.
  await connection.run('CREATE TABLE patients (person_id BIGINT, cost DOUBLE)');
  await connection.run('INSERT INTO patients SELECT i, 10 FROM range(10) t(i)');
  await connection.run('INSERT INTO patients VALUES (42, 0)');
  connection.closeSync();
  instance.closeSync();
  pool = new SandboxPool({ patients: path }, { memoryLimit: '256MB', threads: 1 });
});
afterAll(() => rm(directory, { recursive: true, force: true }));

interface Outcome {
  rows?: unknown;
  error?: unknown;
  elapsedMs: number;
}

/** Runs a statement as the perimeter does, inside an activity; what the caller sees, and when. */
async function outcome(sql: string): Promise<Outcome> {
  const started = Date.now();
  const result = await new MockActivityEnvironment()
    .run(() => runInSandbox(pool, template, sql, {}, TIMEOUT_MS))
    .then(
      (rows): Omit<Outcome, 'elapsedMs'> => ({ rows }),
      (error: unknown): Omit<Outcome, 'elapsedMs'> => ({ error }),
    );
  return { ...result, elapsedMs: Date.now() - started };
}

describe('a query that fails after the reservation', () => {
  it('is answered with one refusal, the same for an error on a row and a timeout, with no error text', async () => {
    // Power: the same sandbox answers a query that does not fail.
    expect((await outcome('SELECT count(*) AS n FROM patients')).rows).toEqual([{ n: 11n }]);

    const raised = await outcome('SELECT sum(ln(cost)) FROM patients');
    const timedOut = await outcome('SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3');
    for (const error of [raised.error, timedOut.error]) {
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(isQueryFailedAfterReservation(error)).toBe(true);
      const failure = error as ApplicationFailure;
      expect(failure).toMatchObject({ type: 'QueryFailedAfterReservation', nonRetryable: true });
      expect(failure.message).toBe(QUERY_FAILED_MESSAGE);
      expect(failure.details ?? []).toEqual([]);
      expect(failure.message).not.toMatch(/logarithm|Out of Range|Error|timeout|ms/i);
    }
  });

  it('is not answered before the timeout, so an error is not faster than a timeout', async () => {
    const raised = await outcome('SELECT sum(ln(cost)) FROM patients');
    expect(isQueryFailedAfterReservation(raised.error)).toBe(true);
    expect(raised.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
  });
});
