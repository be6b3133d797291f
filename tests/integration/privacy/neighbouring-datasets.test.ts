import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortAggregateSql } from '../../../query-policies/cohort-sql';
import { cryptoRandom } from '../../../activities/perimeter/dp/random-source';
import { releasePrivately } from '../../../activities/perimeter/private-release';
import { runWithTimeout } from '../../../activities/perimeter/query-runner';
import { SandboxPool } from '../../../activities/perimeter/sandbox-pool';
import type { ReleasedTable } from '../../../lib/released-table';
import { noisePlan } from '../../../query-policies/noise-plan';
import type { QueryTemplate } from '../../../query-policies/template';
import { sampleTemplate } from '../../support/templates';

/**
 * The definition, tested from the attacker's side. Two DuckDB files differ by one person (the
 * target); the perimeter's real SQL and release run on each many times with the real CSPRNG. For
 * every event the attacker could look at (a group appears, shows numbers, a count reaches c), DP
 * requires P[E | with] ≤ e^ε·P[E | without] + δ, and the same the other way round.
 *
 * Each probability is estimated from N runs; by Hoeffding's inequality the true value lies within
 * s = √(ln(2/α)/(2N)) of the estimate with probability ≥ 1 − α. The test fails only when even the
 * most favourable values inside those intervals break the inequality. With α = 1e-6 / (4·events),
 * the chance that a correct mechanism fails this test is below 1e-6 (union bound).
 */
const RUNS = 3000;
const FALSE_FAILURE = 1e-6;
const K = 20;

/** 19 persons in zip3 150, so that with the target it holds exactly k; 200 in 151; none in 152. */
async function writeDataset(path: string, withTarget: boolean): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(
    'CREATE TABLE patients (person_id BIGINT, zip3 VARCHAR, diagnosis_code VARCHAR, cost DOUBLE, age INTEGER, sex VARCHAR)',
  );
  await connection.run(
    `INSERT INTO patients SELECT i, CASE WHEN i < ${K - 1} THEN '150' ELSE '151' END, 'I10', 50, 40, 'F' FROM range(${K - 1 + 200}) t(i)`,
  );
  if (withTarget) await connection.run(`INSERT INTO patients VALUES (999999, '150', 'I10', 100, 40, 'F')`);
  connection.closeSync();
  instance.closeSync();
}

const templates: Record<string, QueryTemplate> = {
  'declared domain': sampleTemplate({
    minCohortSize: K,
    groupDomain: { zip3: ['150', '151', '152'] },
    privacy: { mechanism: 'discrete_laplace', epsilon: 1 },
  }),
  'partition selection (Laplace)': sampleTemplate({
    minCohortSize: K,
    privacy: { mechanism: 'discrete_laplace', epsilon: 1, selectionDelta: 1e-6 },
  }),
  'partition selection (Gaussian)': sampleTemplate({
    minCohortSize: K,
    privacy: { mechanism: 'discrete_gaussian', epsilon: 1, delta: 1e-6, selectionDelta: 1e-6 },
  }),
};

/** What the attacker can test about one answer. */
function events(table: ReleasedTable): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const zip of ['150', '151', '152']) {
    const row = table.rows.find((r) => r[0] === zip);
    out[`${zip} appears`] = row !== undefined;
    out[`${zip} shows numbers`] = row !== undefined && row[1] !== null;
    for (const c of [K - 5, K, K + 5]) out[`${zip} count ≥ ${c}`] = row !== undefined && Number(row[1]) >= c;
  }
  return out;
}

let directory: string;
let pool: SandboxPool;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tusk-neighbours-'));
  await writeDataset(join(directory, 'with.duckdb'), true);
  await writeDataset(join(directory, 'without.duckdb'), false);
  pool = new SandboxPool(
    { with: join(directory, 'with.duckdb'), without: join(directory, 'without.duckdb') },
    { memoryLimit: '256MB', threads: 1 },
  );
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function eventRates(template: QueryTemplate, dataset: string): Promise<Map<string, number>> {
  const rows = await pool.withConnection(dataset, (connection) =>
    runWithTimeout(connection, cohortAggregateSql(template), { min_age: 0 }, { timeoutMs: 10_000 }),
  );
  const plan = noisePlan(template);
  const counts = new Map<string, number>();
  for (let run = 0; run < RUNS; run++) {
    for (const [name, happened] of Object.entries(
      events(releasePrivately(template, plan, rows, cryptoRandom)),
    ))
      counts.set(name, (counts.get(name) ?? 0) + (happened ? 1 : 0));
  }
  return new Map([...counts].map(([name, count]) => [name, count / RUNS]));
}

describe('neighbouring datasets: one person added or removed', () => {
  for (const [mode, template] of Object.entries(templates)) {
    it(`${mode}: every event's rate stays within e^ε·rate + δ both ways`, async () => {
      const plan = noisePlan(template);
      const withTarget = await eventRates(template, 'with');
      const without = await eventRates(template, 'without');
      const alpha = FALSE_FAILURE / (4 * withTarget.size);
      const slack = Math.sqrt(Math.log(2 / alpha) / (2 * RUNS));
      const factor = Math.exp(plan.epsilon);
      const violations: string[] = [];
      for (const [name, p1] of withTarget) {
        const p0 = without.get(name)!;
        for (const [a, b, direction] of [
          [p1, p0, 'with > without'],
          [p0, p1, 'without > with'],
        ] as const) {
          if (a - slack > factor * (b + slack) + plan.delta)
            violations.push(`${name}: ${direction} (${a.toFixed(3)} vs ${b.toFixed(3)})`);
        }
      }
      expect(violations).toEqual([]);
      // The test has power: the large group is seen in nearly every answer on both sides.
      expect(withTarget.get('151 shows numbers')).toBeGreaterThan(0.99);
    });
  }
});
