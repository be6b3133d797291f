import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { inject } from 'vitest';
import { aztecPaths } from '../../contracts/deployment';
import type { SignedBundle } from '../../audit/bundle';
import type { HistoryJson } from '../../audit/history-json';
import { entryLeafHash, type LogEntry } from '../../lib/transparency/tree-head';
import { canonicalJson } from '../../lib/canonical-json';
import { startTestDeployment, type TestDeployment } from '../integration/harness';

const TUSK = join(__dirname, '../../bin/tusk');

/** An Aztec deployment with an operator and an auditor among its parties (the log's two sides). */
export function startAnchoringDeployment(name: string): Promise<TestDeployment> {
  const paths = aztecPaths(inject('aztecOperatorHome'));
  return startTestDeployment(name, (seller) => seller.publishDemoTemplate().then(() => undefined), {
    acceptanceTimeoutMs: 600_000,
    // The API anchors the head on its own whenever the log grew, checked every 10 s.
    env: { TUSK_LOG_ANCHOR_MS: '10000' },
    parties: [
      { id: 'operator', role: 'operator' },
      { id: 'auditor', role: 'auditor' },
    ],
    aztec: {
      nodeUrl: inject('aztecNodeUrl'),
      deploymentFile: paths.deployment,
      escrowSecretFile: paths.escrowSecret,
    },
  });
}

/** Runs the CLI as a party would, with the parties' keys in a CLI home; resolves with the exit code and output. */
export async function tusk(
  test: TestDeployment,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = join(test.home, 'cli');
  await mkdir(join(home, 'keys'), { recursive: true });
  await writeFile(join(home, 'keys', 'demo-buyer.ed25519.pem'), test.deployment.buyer.signingKeyPem, {
    mode: 0o600,
  });
  for (const id of ['operator', 'auditor'])
    await writeFile(join(home, 'keys', `${id}.ed25519.pem`), test.deployment.parties.get(id)!.signingKeyPem, {
      mode: 0o600,
    });
  return new Promise((resolve) => {
    execFile(
      TUSK,
      args,
      { env: { ...process.env, TUSK_HOME: home, TUSK_API_URL: test.deployment.apiUrl }, timeout: 240_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * A dishonest operator rewrites its log behind the API's back: leaf `index` now logs another document,
 * the append-only triggers dropped, the signed heads thrown away (the API signs new ones on start).
 */
export function rewriteLeaf(logFile: string, index: number): void {
  const db = SqliteDatabase.open(logFile);
  try {
    const row = db.prepare('SELECT entry FROM leaves WHERE leaf_index = ?').get(index) as { entry: string };
    const entry = JSON.parse(row.entry) as LogEntry;
    const forged: LogEntry = { ...entry, digest: `sha256:${'0'.repeat(64)}` };
    db.exec('DROP TRIGGER leaves_append_only_u; DROP TRIGGER leaves_append_only_d');
    db.prepare('UPDATE leaves SET entry = ?, leaf_hash = ? WHERE leaf_index = ?').run(
      canonicalJson(forged),
      entryLeafHash(forged),
      index,
    );
    db.exec('DELETE FROM tree_heads');
  } finally {
    db.close();
  }
}

/** Replaces a string in every payload of a bundle's histories (payloads are base64 JSON). */
export function replaceInPayloads(bundle: SignedBundle, from: string, to: string): number {
  let replaced = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.data === 'string' && record.metadata) {
      const text = Buffer.from(record.data, 'base64').toString();
      if (text.includes(from)) {
        record.data = Buffer.from(text.split(from).join(to)).toString('base64');
        replaced += 1;
      }
    }
    Object.values(record).forEach(visit);
  };
  for (const run of bundle.body.runs) visit((run.history as HistoryJson).events);
  return replaced;
}

export { txStatus as nodeTxStatus } from './harness';
