import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditReport } from '../../audit/verify/report';
import { waitForStage } from '../../cli/buyer/commands';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import {
  parseKeptReleases,
  RELEASE_PROOFS_FILE,
  type KeptReleaseCheck,
  type KeptReleaseProof,
} from '../../lib/transparency/kept-release';
import { loadOperatorSigner, type OperatorSigner } from '../../lib/transparency/operator-key';
import { tusk } from './cli/run-tusk';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party } from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const RELEASES = 'releases in the transparency log';

/**
 * The operator runs the transparency log. It can append an entry under a deal's release key (settlement
 * then refuses the buyer's refund past notAfter: withholding service), and it can rewrite the log
 * behind the perimeter's back (settlement would then refund an answered deal as unanswered). The
 * auditor reading the log names the first; the seller's kept proofs name the second.
 */
describe("the audit reads the release log; the perimeter's kept proofs name a rewritten log", () => {
  let test: TestDeployment;
  let signer: OperatorSigner;
  let operatorKey: string;
  let cliHome: string;
  let dealId: string;
  const logFile = () => join(test.home, 'transparency-log.sqlite');
  const env = () => ({ TUSK_HOME: cliHome, TUSK_API_URL: test.deployment.apiUrl });
  /** What the perimeter kept of the deal's release: its own record, not the audit's arithmetic. */
  const keptOfDeal = async (): Promise<KeptReleaseProof> => {
    const text = await readFile(join(test.deployment.perimeterStateDir, RELEASE_PROOFS_FILE), 'utf8');
    const [kept, ...more] = parseKeptReleases(text).kept.filter((record) => record.dealId === dealId);
    expect(more).toEqual([]);
    return kept!;
  };

  beforeAll(async () => {
    test = await startTestDeployment(
      'audit-log',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      { parties: LIFECYCLE_PARTIES, acceptanceTimeoutMs: 1_000 },
    );
    signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    operatorKey = signer.publicKey;
    cliHome = join(test.home, 'cli');
    await writeFileAtomic(keyPaths(cliHome, 'auditor').signing, party(test, 'auditor').signingKeyPem, 0o600);
    await writeFileAtomic(keyPaths(cliHome, test.seller.id).signing, test.seller.keys.privateKeyPem, 0o600);
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    dealId = deal.dealId;
    await deal.delivered();
    await waitForStage(test.deployment.buyer.client, dealId, (s) => s.stage === 'settled', 60_000);
    await test.temporal.workflow.getHandle(dealId).result();
  }, 300_000);
  afterAll(async () => {
    await test?.close();
  });

  const audit = async () => {
    const bundle = await test.deployment.buyer.client.get<SignedBundle>(`/deals/${dealId}/audit-bundle`);
    const file = join(test.home, `bundle-${crypto.randomUUID()}.json`);
    await writeFile(file, JSON.stringify(bundle));
    return tusk(['audit', 'verify', file, '--as', 'auditor', '--operator-key', operatorKey, '--json'], env());
  };
  const logCheck = (json = true) =>
    tusk(
      [
        'seller',
        'log',
        'check',
        '--as',
        test.seller.id,
        '--operator-key',
        operatorKey,
        '--proofs',
        join(test.deployment.perimeterStateDir, RELEASE_PROOFS_FILE),
        ...(json ? ['--json'] : []),
      ],
      env(),
    );

  it('a delivered deal audited with the log has no finding; a junk entry the operator appends under its key is named', async () => {
    const clean = await audit();
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const checks = (JSON.parse(clean.stdout) as AuditReport).checks;
    expect(checks.find((c) => c.check === RELEASES)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^1 release shown, each logged; 1 log entry under 1 seller key/),
    });

    // The operator runs the log: it writes an entry under the deal's release key as its API would.
    const kept = await keptOfDeal();
    const junk = `sha256:${randomBytes(32).toString('hex')}`;
    const log = TransparencyLog.open(logFile(), signer);
    try {
      log.logRelease({ lookupKey: kept.lookupKey, digest: junk });
    } finally {
      log.close();
    }
    const named = await audit();
    expect(named.code, named.stderr).toBe(1);
    const findings = (JSON.parse(named.stdout) as AuditReport).checks.filter((c) => c.status === 'finding');
    expect(findings).toEqual([
      {
        check: RELEASES,
        status: 'finding',
        detail: expect.stringMatching(
          new RegExp(
            `^unexplained log entry: leaf \\d+ under ${test.seller.id}'s release key of ${dealId} holds statement ${junk}, which is no release the bundle shows`,
          ),
        ),
      },
    ]);

    // Without the log read, the audit says the checks were not run rather than passing them.
    const bundle = join(test.home, 'offline.json');
    await writeFile(
      bundle,
      JSON.stringify(await test.deployment.buyer.client.get(`/deals/${dealId}/audit-bundle`)),
    );
    const offline = await tusk(['audit', 'verify', bundle, '--operator-key', operatorKey], {
      TUSK_API_URL: test.deployment.apiUrl,
    });
    expect(offline.stdout).toMatch(/skipped releases in the transparency log: not run: /);
  }, 300_000);

  it('a log rewritten behind the perimeter: tusk seller log check exits 1 naming the lost release and the kept head', async () => {
    const before = await logCheck();
    expect(before.code, before.stdout + before.stderr).toBe(0);
    expect((JSON.parse(before.stdout) as { releases: KeptReleaseCheck[] }).releases).toContainEqual(
      expect.objectContaining({ dealId, status: 'still' }),
    );

    // The operator drops the log from the release's leaf on and writes a longer history in its place.
    const kept = await keptOfDeal();
    const leaf = kept.proof.leafIndex;
    const db = SqliteDatabase.open(logFile(), { timeoutMs: 5000 });
    const size = (db.prepare('SELECT COUNT(*) AS n FROM leaves').get() as { n: number }).n;
    db.transaction(() => {
      db.exec('DROP TRIGGER leaves_append_only_d');
      db.prepare('DELETE FROM leaves WHERE leaf_index >= ?').run(leaf);
      db.prepare('DELETE FROM tree_heads WHERE tree_size > ?').run(leaf);
    })();
    db.close();
    const log = TransparencyLog.open(logFile(), signer);
    try {
      for (let n = leaf; n <= size; n += 1)
        log.append(
          {
            type: 'tusk.log-entry/v1',
            kind: 'receipt',
            dealId: `other-${n}`,
            digest: `sha256:${randomBytes(32).toString('hex')}`,
          },
          {},
        );
    } finally {
      log.close();
    }

    const after = await logCheck();
    expect(after.code, after.stdout + after.stderr).toBe(1);
    const lost = (JSON.parse(after.stdout) as { releases: KeptReleaseCheck[] }).releases.find(
      (r) => r.dealId === dealId,
    );
    expect(lost).toMatchObject({
      status: 'lost',
      leafIndex: leaf,
      digest: kept.digest,
      keptHead: kept.treeHead,
      problem: expect.stringMatching(/does not extend the kept head .*: history was rewritten/),
    });
    const text = await logCheck(false);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`LOST    deal ${dealId}: leaf ${leaf} (lookup key ${kept.lookupKey}`);
    expect(text.stdout).toContain(
      `evidence: the operator's head you kept, size ${kept.treeHead.body.treeSize}, root ${kept.treeHead.body.rootHash}`,
    );
  }, 300_000);
});
