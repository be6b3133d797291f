/**
 * The perimeter's whole path against the raw query, on one 10M-row dataset in one run:
 * - raw: the template's aggregate written by hand and run on the DuckDB file (read-only, warm);
 * - perimeter: runApprovedQuery as the perimeter worker runs it — template checks, sandbox,
 *   contribution bounds, every declared group with discrete noise, sealing to the buyer's key, blob write, budget commit.
 * Runs alternate, each with different parameters (a repeated query would be answered from the
 * release cache). Prints both medians and the ratio.
 * Usage: npm run bench:perimeter -- [--rows 10000000] [--runs 9] [--smoke]
 * (--smoke: 10,000 rows, one run; checks it runs, not how fast)
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPerimeterActivities } from '../activities/perimeter/activities';
import { MilestoneRuns } from '../activities/perimeter/milestone-runs';
import { ReleaseProofFile } from '../activities/perimeter/release-logging';
import { releaseLogIn, TransparencyLog } from '../api/audit/log-store';
import { signEd25519 } from '../lib/ed25519';
import { cohortAggregateSql } from '../query-policies/cohort-sql';
import { openSandbox } from '../activities/perimeter/sandbox';
import { LEDGER_FILE, PrivacyLedger } from '../activities/perimeter/privacy-ledger';
import { cryptoRandom } from '../activities/perimeter/dp/random-source';
import { createSyntheticPatients } from '../lib/synthetic-patients';
import { BlobStore } from '../lib/blob-store';
import { signTerms, x25519KeyDocument } from '../lib/signed-terms';
import { generateEd25519KeyPair } from '../lib/ed25519';
import { generateX25519KeyPair } from '../lib/sealed-box';
import { signTemplate, templateHash } from '../query-policies/signature';
import { readTemplateFile } from '../query-policies/template-files';
import { signDatasetPolicy } from '../query-policies/dataset-policy';
import { DATASET_POLICY_FILE } from '../query-policies/dataset-policy-file';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};

async function dataset(rows: number): Promise<string> {
  // Kept between runs: generating 10M rows takes longer than the benchmark itself.
  const path = resolve(`.tusk/bench/patients-${rows}.duckdb`);
  if (!(await stat(path).catch(() => undefined))) {
    await mkdir(resolve('.tusk/bench'), { recursive: true });
    console.log(`generating ${rows.toLocaleString('en')} rows (once)…`);
    await createSyntheticPatients({ path, rows });
  }
  return path;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      runs: { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  const rows = Number(values.rows ?? (values.smoke ? 10_000 : 10_000_000));
  const runs = Number(values.runs ?? (values.smoke ? 1 : 9));
  const datasetPath = await dataset(rows);
  const work = await mkdtemp(join(tmpdir(), 'tusk-bench-perimeter-'));
  try {
    const seller = generateEd25519KeyPair();
    const demo = await readTemplateFile(resolve('query-policies/demo-seller/cohort-cost-by-zip3.json'));
    const template = { ...demo, seller: 'bench-seller' };
    const policiesDir = join(work, 'policies');
    await mkdir(policiesDir);
    await writeFile(join(policiesDir, `${template.id}.json`), JSON.stringify(template));
    const budget = { epsilon: 100, delta: 1e-5 };
    const policy = {
      seller: 'bench-seller',
      version: 1,
      datasets: { patients: { windowDays: 30, total: budget, perBuyer: budget } },
    };
    await writeFile(
      join(policiesDir, DATASET_POLICY_FILE),
      JSON.stringify({ policy, signature: signDatasetPolicy(policy, seller.privateKeyPem) }),
    );
    await writeFile(
      join(policiesDir, `${template.id}.signature.json`),
      JSON.stringify(signTemplate(template, seller.privateKeyPem)),
    );
    const blobs = new BlobStore(join(work, 'blobs'));
    const resultKey = generateX25519KeyPair().publicKey;
    const buyerKeyRef = await blobs.put(x25519KeyDocument(resultKey));
    const buyerSigning = generateEd25519KeyPair();
    const perimeter = createPerimeterActivities({
      sellerId: 'bench-seller',
      sellerPublicKey: seller.publicKey,
      policiesDir,
      datasets: { patients: datasetPath },
      ledger: PrivacyLedger.open(join(work, 'state', LEDGER_FILE)),
      blobs,
      limits: { memoryLimit: '4GB', threads: 2 },
      queryTimeoutMs: 600_000,
      milestoneRuns: new MilestoneRuns(join(work, 'state')),
      random: cryptoRandom,
      releaseKey: generateEd25519KeyPair(),
      // The perimeter's own work of logging a release, without the HTTP hop to the operator's API.
      releaseLog: releaseLogIn(TransparencyLog.open(join(work, 'log.sqlite'), benchOperator())),
      releaseProofs: new ReleaseProofFile(join(work, 'state')),
      // The bench times the perimeter alone: its buyer's key stands in for the log's registration.
      keys: {
        currentKey: async (partyId) => ({
          type: 'tusk.key-registration/v1',
          partyId,
          role: 'buyer',
          purpose: 'party',
          publicKey: buyerSigning.publicKey,
          sequence: 0,
        }),
      },
    });
    const raw = await (await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' })).connect();
    const rawSql = `SELECT zip3, diagnosis_code, count(DISTINCT person_id) AS patients, avg(cost) AS avg_cost, sum(cost) AS total_cost
      FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex GROUP BY ALL`;
    const sandbox = await (await openSandbox(datasetPath, { memoryLimit: '4GB', threads: 2 })).connect();
    const boundedSql = cohortAggregateSql(template);
    // Activity logs would interleave with the figures.
    const quiet = {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    const environment = new MockActivityEnvironment(undefined, { logger: quiet });
    const hash = templateHash(template);

    const timings = {
      raw: [] as number[],
      bounded: [] as number[],
      perimeter: [] as number[],
      perimeterGc: [] as number[],
    };
    // Garbage collection's pauses, summed over each timed perimeter path.
    let gcMs = 0;
    const gcWatch = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMs += entry.duration;
    });
    gcWatch.observe({ entryTypes: ['gc'] });
    for (let i = -1; i < runs; i++) {
      // Different parameters every time; run -1 warms both paths up.
      const parameters = { min_age: 30 + (i + 1), max_age: 50 + (i + 1), sex: i % 2 === 0 ? 'F' : 'M' };
      let started = performance.now();
      await raw.runAndReadAll(rawSql, parameters);
      const rawMs = performance.now() - started;
      started = performance.now();
      await sandbox.runAndReadAll(boundedSql, parameters);
      const boundedMs = performance.now() - started;
      const dealId = `bench-${i + 1}`;
      const input = {
        dealId,
        buyerId: 'bench-buyer',
        templateId: template.id,
        templateHash: hash,
        parameters,
      };
      // The buyer's signature over the deal's terms is part of the perimeter's path, so it is timed.
      const { buyerId: _, ...body } = input;
      const terms = signTerms(
        'cohort_query',
        'bench-buyer',
        { ...body, price: template.price, buyerPublicKey: resultKey, compliance: COMPLIANCE },
        buyerSigning.privateKeyPem,
      );
      // Pauses already pending are reported before the perimeter's path starts.
      await new Promise((settle) => setImmediate(settle));
      gcMs = 0;
      started = performance.now();
      await environment.run(perimeter.reservePrivacyBudget, { ...input, compliance: COMPLIANCE, terms });
      await environment.run(perimeter.runApprovedQuery, { ...input, buyerKeyRef, terms });
      const perimeterMs = performance.now() - started;
      await new Promise((settle) => setImmediate(settle));
      const perimeterGcMs = gcMs;
      if (i >= 0) {
        timings.raw.push(rawMs);
        timings.bounded.push(boundedMs);
        timings.perimeter.push(perimeterMs);
        timings.perimeterGc.push(perimeterGcMs);
      }
    }
    gcWatch.disconnect();
    raw.closeSync();
    sandbox.closeSync();
    const [r, b, p] = [median(timings.raw), median(timings.bounded), median(timings.perimeter)];
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    console.log(
      `rows: ${rows.toLocaleString('en')}, runs: ${runs} (alternating, parameters varied); load ${load}`,
    );
    console.log(`raw DuckDB aggregate (count distinct, avg, sum): median ${r.toFixed(0)} ms`);
    console.log(
      `perimeter SQL alone (sandbox, per-unit bounds, group bound): median ${b.toFixed(0)} ms (${(b / r).toFixed(2)}× raw)`,
    );
    console.log(
      `perimeter path (checks, sandbox, bounds, threshold, noise, seal, commit): median ${p.toFixed(0)} ms`,
    );
    console.log(
      `garbage collection during the perimeter path: median ${median(timings.perimeterGc).toFixed(1)} ms`,
    );
    console.log(`ratio perimeter path / raw: ${(p / r).toFixed(2)}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

/** An operator signing key for the bench's own log. */
function benchOperator() {
  const key = generateEd25519KeyPair();
  return { publicKey: key.publicKey, sign: (message: string) => signEd25519(key.privateKeyPem, message) };
}
