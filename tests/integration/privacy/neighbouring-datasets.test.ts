import { DuckDBInstance } from '@duckdb/node-api';
import { generateKeyPairSync } from 'node:crypto';
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
import { buildResultPayload, sealResult } from '../../../lib/sealed-result';
import { publicKeyFromPem } from '../../../lib/x25519-public';
import { noisePlan, type NoisePlan } from '../../../query-policies/noise-plan';
import { rowsBytesBound } from '../../../query-policies/result-size';
import type { QueryTemplate } from '../../../query-policies/template';
import { eventCount, judgeEvent } from '../../support/dp-event-test';
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

/** 300 persons in each of zip3 150–152 spending 5; the target is in all three, spending ≥ B = 10 in each. */
async function writeSeveralGroupsDataset(path: string, withTarget: boolean): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(
    'CREATE TABLE patients (person_id BIGINT, zip3 VARCHAR, diagnosis_code VARCHAR, cost DOUBLE, age INTEGER, sex VARCHAR)',
  );
  await connection.run(
    `INSERT INTO patients SELECT i, CAST(150 + i % 3 AS VARCHAR), 'I10', 5, 40, 'F' FROM range(900) t(i)`,
  );
  if (withTarget)
    await connection.run(
      `INSERT INTO patients VALUES (999999, '150', 'I10', 10, 40, 'F'), (999999, '151', 'I10', 6, 40, 'F'), (999999, '151', 'I10', 6, 40, 'F'), (999999, '152', 'I10', 10, 40, 'F')`,
    );
  connection.closeSync();
  instance.closeSync();
}

let directory: string;
let pool: SandboxPool;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tusk-neighbours-'));
  const files = {
    with: join(directory, 'with.duckdb'),
    without: join(directory, 'without.duckdb'),
    severalWith: join(directory, 'several-with.duckdb'),
    severalWithout: join(directory, 'several-without.duckdb'),
  };
  await writeDataset(files.with, true);
  await writeDataset(files.without, false);
  await writeSeveralGroupsDataset(files.severalWith, true);
  await writeSeveralGroupsDataset(files.severalWithout, false);
  pool = new SandboxPool(files, { memoryLimit: '256MB', threads: 1 });
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const perimeterRows = (template: QueryTemplate, dataset: string) =>
  pool.withConnection(dataset, (connection) =>
    runWithTimeout(connection, cohortAggregateSql(template), { min_age: 0 }, { timeoutMs: 10_000 }),
  );

async function eventRates(template: QueryTemplate, dataset: string): Promise<Map<string, number>> {
  const rows = await perimeterRows(template, dataset);
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

/**
 * With power: the target in three groups (m = 3), counts and sums, ε = 2, and the event that every
 * number the target moves is at least its value with the target, whose probability ratio between
 * the neighbours is exactly e^ε for a correct discrete Laplace (see tests/unit/privacy-power.test.ts
 * for the argument). Rates with the target ≈ 0.026, without ≈ 0.0035; with every noise scale halved
 * (a 2× violation) 0.040 and 0.00073, and the test then fails: N = 18 000 gives power ≥ 1 − 1e-3,
 * Chernoff–KL bounds keep a false failure under 1e-6. The perimeter's SQL runs on the real DuckDB
 * files a modest number of times (it is deterministic; the noise is not), and every answer's sealed
 * box, as the operator stores it, has one length on both sides.
 */
describe('neighbouring datasets, target in several groups: counts and sums, with power', () => {
  const N = 18_000;
  const SQL_RUNS = 10;
  const SEALED = 300;
  const template = sampleTemplate({
    metrics: [
      { name: 'patients', aggregate: 'count_units' },
      { name: 'total_cost', aggregate: 'sum', column: 'cost', min: 0, max: 10 },
    ],
    maxGroupsPerUnit: 3,
    minCohortSize: 20,
    groupDomain: { zip3: ['150', '151', '152'] },
    privacy: { mechanism: 'discrete_laplace', epsilon: 2 },
  });
  const buyerKey = publicKeyFromPem(
    generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const halved = (plan: NoisePlan): NoisePlan => ({
    ...plan,
    countNoise: { ...plan.countNoise, den: plan.countNoise.den * 2n },
    sumNoise: Object.fromEntries(
      Object.entries(plan.sumNoise).map(([name, p]) => [name, { ...p, den: p.den * 2n }]),
    ),
  });

  async function answers(dataset: string) {
    const results = [];
    for (let run = 0; run < SQL_RUNS; run++) results.push(await perimeterRows(template, dataset));
    // The SQL is deterministic: every run gives the same exact aggregates.
    for (const rows of results) expect(rows).toEqual(results[0]);
    return results;
  }

  it('passes on the real mechanism, fails with the noise halved; sealed lengths never differ', async () => {
    const withRuns = await answers('severalWith');
    const withoutRuns = await answers('severalWithout');
    // With the target: 301 persons and 1510 (its 12 in 151 clamped to 10) in each group.
    const exact = new Map(withRuns[0]!.map((row) => [String(row.zip3), row]));
    expect(exact.size).toBe(3);
    const event = (table: ReleasedTable) =>
      table.rows.every((row) => Number(row[1]) >= 301 && Number(row[2]) >= 1510);
    const plan = noisePlan(template);
    const lengths = new Set<number>();
    const sealing: Promise<unknown>[] = [];
    const judge = (mechanism: NoisePlan) => {
      let i = 0;
      const release = (runs: Record<string, unknown>[][]) => () => {
        const table = releasePrivately(template, mechanism, runs[i++ % SQL_RUNS]!, cryptoRandom);
        if (mechanism === plan && i <= SEALED) {
          const payload = buildResultPayload(
            { dealId: 'd', templateId: template.id, templateHash: 'h', parameters: { min_age: 0 } },
            table,
          );
          sealing.push(
            sealResult(payload, buyerKey, rowsBytesBound(template)).then((box) => lengths.add(box.length)),
          );
        }
        return table;
      };
      const hitsWith = eventCount(N, release(withRuns), event);
      i = 0;
      const hitsWithout = eventCount(N, release(withoutRuns), event);
      return judgeEvent(hitsWith, hitsWithout, N, plan, FALSE_FAILURE / 4);
    };
    const real = judge(plan);
    const weakened = judge(halved(plan));
    expect(real.violated).toBe(false);
    expect(weakened.violated).toBe(true);
    await Promise.all(sealing);
    expect(lengths.size).toBe(1);
  }, 600_000);
});
