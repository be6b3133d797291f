import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../cli/buyer/commands';
import { bundleDigest, type SignedBundle } from '../../audit/bundle';
import type { HistoryJson } from '../../audit/history-json';
import { loadOperatorSigner, type OperatorSigner } from '../../lib/transparency/operator-key';
import { checkReceipt, receiptDigest, type SignedReceipt } from '../../audit/receipt';
import { signDocument } from '../../lib/transparency/signed-document';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import type { AuditReport } from '../../audit/verify/report';
import {
  checkConsistency,
  checkInclusion,
  type ConsistencyProofResponse,
  type InclusionProofResponse,
  type SignedTreeHead,
} from '../../lib/transparency/tree-head';
import type { DealStatus } from '../../workflows/deal/state';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party } from './lifecycle-harness';
import { confirmDeal } from '../../lib/signed-actions';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

const TUSK = join(__dirname, '../../bin/tusk');

/** Runs the CLI as a party would, with its key in a CLI home; resolves with the exit code and output. */
async function tusk(
  test: TestDeployment,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = join(test.home, 'cli');
  for (const id of ['demo-buyer', 'auditor']) {
    const pem = id === 'demo-buyer' ? test.deployment.buyer.signingKeyPem : party(test, id).signingKeyPem;
    await mkdir(join(home, 'keys'), { recursive: true });
    await writeFile(join(home, 'keys', `${id}.ed25519.pem`), pem, { mode: 0o600 });
  }
  return new Promise((resolve) => {
    execFile(
      TUSK,
      args,
      { env: { ...process.env, TUSK_HOME: home, TUSK_API_URL: test.deployment.apiUrl }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The findings of a report, as `check: detail` lines. */
const findingsOf = (report: AuditReport) =>
  report.checks.filter((c) => c.status === 'finding').map((c) => `${c.check}: ${c.detail}`);

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The decoded JSON value of the result an activity of this type completed with, to read or change. */
function activityResult(bundle: SignedBundle, activityType: string) {
  const events = (bundle.body.runs[0]!.history as HistoryJson).events;
  const scheduled = events.find(
    (e) =>
      (e.activityTaskScheduledEventAttributes as { activityType?: { name: string } } | undefined)
        ?.activityType?.name === activityType,
  )!;
  const done = events.find(
    (e) =>
      String(
        (e.activityTaskCompletedEventAttributes as { scheduledEventId?: string } | undefined)
          ?.scheduledEventId,
      ) === scheduled.eventId,
  )!;
  const payload = (done.activityTaskCompletedEventAttributes as { result: { payloads: { data: string }[] } })
    .result.payloads[0]!;
  return {
    value: JSON.parse(Buffer.from(payload.data, 'base64').toString()) as Record<string, unknown>,
    set(value: unknown) {
      payload.data = Buffer.from(JSON.stringify(value)).toString('base64');
    },
  };
}

/** A dishonest operator: signs whatever bundle it likes with its real key. */
const resign = (signer: OperatorSigner, bundle: SignedBundle): SignedBundle =>
  signDocument(signer, bundle.body);

/** A deal is 'settled' a moment before its workflow closes (the chain receipt comes last). */
async function settledAndClosed(test: TestDeployment, dealId: string): Promise<void> {
  await waitForStage(test.deployment.buyer.client, dealId, (s) => s.stage === 'settled', 60_000);
  await test.temporal.workflow.getHandle(dealId).result();
}

describe('auditing a deal: receipts, the transparency log, bundles', () => {
  let test: TestDeployment;
  let dealId: string;
  let operatorKey: string;

  beforeAll(async () => {
    test = await startTestDeployment(
      'audit',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        acceptanceTimeoutMs: 8_000,
        parties: LIFECYCLE_PARTIES,
      },
    );
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    dealId = deal.dealId;
    await deal.delivered();
    await confirmDeal<DealStatus>(test.deployment.buyer.client, dealId);
    await settledAndClosed(test, dealId);
    operatorKey = (await test.deployment.buyer.client.get<{ publicKey: string }>('/operator/key')).publicKey;
  });
  afterAll(async () => {
    await test?.close();
  });

  it('a settled deal has a receipt signed by the operator, with what the buyer paid, the fee and the payout', async () => {
    const receipt = await test.deployment.buyer.client.get<SignedReceipt>(`/deals/${dealId}/receipt`);
    expect(checkReceipt(receipt, operatorKey)).toEqual({ ok: true });
    expect(receipt.body).toMatchObject({
      type: 'tusk.receipt/v1',
      dealId,
      kind: 'cohort_query',
      outcome: 'settled',
      resultCommitment: expect.stringMatching(/^sha256:/),
      settlement: { adapter: 'local-ledger' },
    });
    expect(receipt.body.settlement.ledgerEntries.map((e) => e.kind)).toEqual(['lock', 'release', 'receipt']);
    expect(receipt.openings?.template?.value.templateId).toBe('cohort-cost-by-zip3');
    expect(receipt.openings?.parties?.value).toEqual({ buyer: 'demo-buyer', sellers: [test.seller.id] });
    expect(receipt.openings?.amounts?.value).toMatchObject({
      deposits: '1000',
      payouts: [{ to: test.seller.id, amount: '975' }],
      fee: '25',
      feeBps: 250,
      refunds: [],
    });
    // Issued once: asking again returns the same signed receipt.
    const again = await test.deployment.buyer.client.get<SignedReceipt>(`/deals/${dealId}/receipt`);
    expect(again).toEqual(receipt);
  });

  it('an auditor sees the receipt sealed: signature valid, no parties or amounts', async () => {
    const auditor = party(test, 'auditor').client;
    const receipt = await auditor.get<SignedReceipt>(`/deals/${dealId}/receipt`);
    expect(receipt.openings).toBeUndefined();
    expect(checkReceipt(receipt, operatorKey)).toEqual({ ok: true });
    expect(JSON.stringify(receipt)).not.toContain('demo-buyer');
    expect(JSON.stringify(receipt)).not.toContain('"975"');
    // Nor what the catalog maps to the seller and price.
    expect(JSON.stringify(receipt)).not.toContain('cohort-cost-by-zip3');
  });

  it('a party with no part in the deal gets nothing', async () => {
    await expect(party(test, 'thin-buyer').client.get(`/deals/${dealId}/receipt`)).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
  });

  it('the receipt is in the transparency log, provably, and the log only grows', async () => {
    const client = party(test, 'auditor').client;
    const receipt = await client.get<SignedReceipt>(`/deals/${dealId}/receipt`);
    const proof = await client.get<InclusionProofResponse>(
      `/log/proof/inclusion?dealId=${dealId}&kind=receipt`,
    );
    const entry = {
      type: 'tusk.log-entry/v1' as const,
      kind: 'receipt' as const,
      dealId,
      digest: receiptDigest(receipt),
    };
    expect(checkInclusion(entry, proof, operatorKey)).toEqual({ ok: true });
    expect(checkInclusion({ ...entry, dealId: 'another' }, proof, operatorKey)).toMatchObject({ ok: false });

    const older = await client.get<SignedTreeHead>('/log/head');
    // A second deal's receipt grows the log.
    const second = await buyDeal(test.deployment, 'cohort-cost-by-zip3', { ...PARAMETERS, sex: 'M' });
    await second.delivered();
    await confirmDeal(test.deployment.buyer.client, second.dealId);
    await settledAndClosed(test, second.dealId);
    // Nobody asks for the second deal's receipt: the operator issues and logs it on its own.
    const until = Date.now() + 30_000;
    for (;;) {
      const logged = await client
        .get<InclusionProofResponse>(`/log/proof/inclusion?dealId=${second.dealId}&kind=receipt`)
        .then(() => true)
        .catch(() => false);
      if (logged) break;
      if (Date.now() > until) throw new Error('the receipt of a finished deal was not issued by itself');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const newer = await client.get<SignedTreeHead>('/log/head');
    expect(newer.body.treeSize).toBeGreaterThan(older.body.treeSize);
    const consistency = await client.get<ConsistencyProofResponse>(
      `/log/proof/consistency?first=${older.body.treeSize}&second=${newer.body.treeSize}`,
    );
    expect(checkConsistency(older.body, newer.body, consistency)).toEqual({ ok: true });
  });

  it('tusk receipt show | verify | pdf: a party saves, checks and prints its receipt; a doctored copy fails', async () => {
    const file = join(test.home, 'receipt.json');
    const shown = await tusk(test, ['receipt', 'show', dealId, '--as', 'demo-buyer', '--out', file]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`paid out     975 to ${test.seller.id}`);
    const verified = await tusk(test, [
      'receipt',
      'verify',
      file,
      '--as',
      'auditor',
      '--operator-key',
      operatorKey,
    ]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/ok {3}signature\nok {3}in the transparency log/);

    const doctored = JSON.parse(await readFile(file, 'utf8')) as SignedReceipt;
    doctored.openings!.amounts!.value.fee = '5';
    await writeFile(join(test.home, 'doctored.json'), JSON.stringify(doctored));
    const refused = await tusk(test, [
      'receipt',
      'verify',
      join(test.home, 'doctored.json'),
      '--offline',
      '--operator-key',
      operatorKey,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('the amounts shown do not match the amounts the operator signed');

    const pdf = join(process.env.TUSK_AUDIT_PDF_DIR ?? test.home, 'receipt.pdf');
    const printed = await tusk(test, ['receipt', 'pdf', file, '--out', pdf]);
    expect(printed.code, printed.stderr).toBe(0);
    expect((await readFile(pdf)).subarray(0, 5).toString()).toBe('%PDF-');
  }, 300_000);

  it('tusk log head --save, then check-consistency after the log grew', async () => {
    const saved = join(test.home, 'head.json');
    const head = await tusk(test, [
      'log',
      'head',
      '--as',
      'auditor',
      '--save',
      saved,
      '--operator-key',
      operatorKey,
    ]);
    expect(head.code, head.stderr).toBe(0);
    expect(head.stdout).toContain("signed by the operator's pinned key");
    const proven = await tusk(test, [
      'log',
      'prove',
      dealId,
      '--as',
      'auditor',
      '--operator-key',
      operatorKey,
    ]);
    expect(proven.code, proven.stderr).toBe(0);
    expect(proven.stdout).toMatch(/is leaf \d+ of the log/);
    const consistent = await tusk(test, [
      'log',
      'check-consistency',
      saved,
      '--as',
      'auditor',
      '--operator-key',
      operatorKey,
    ]);
    expect(consistent.code, consistent.stderr).toBe(0);
    const wrongKey = await tusk(test, ['log', 'head', '--as', 'auditor', '--operator-key', 'A'.repeat(43)]);
    expect(wrongKey.code).toBe(1);
    const noApi = await tusk(test, ['log', 'head', '--as', 'auditor', '--api', 'http://127.0.0.1:9']);
    expect(noApi.code).toBe(3);
  }, 300_000);

  describe('audit bundles', () => {
    let bundle: SignedBundle;
    let signer: OperatorSigner;

    beforeAll(async () => {
      bundle = await test.deployment.buyer.client.get<SignedBundle>(`/deals/${dealId}/audit-bundle`);
      signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    });

    it('a clean deal verifies: replayed, signed, logged, conserved, and its result opens to the commitment', async () => {
      expect(bundle.body.runs.map((r) => r.workflowType)).toEqual(['cohortQueryDeal']);
      const resultKey = join(test.home, 'buyer-result.pem');
      await writeFile(resultKey, test.deployment.buyer.resultKeyPem);
      const report = await verifyBundle(bundle, {
        operatorKey,
        resultKey,
        ledgerFile: test.deployment.ledger.path,
      });
      expect(findingsOf(report)).toEqual([]);
      expect(report.ok).toBe(true);
      const passed = report.checks.filter((c) => c.status === 'ok').map((c) => c.check);
      expect(passed).toEqual(
        expect.arrayContaining([
          'bundle signed by the operator',
          'workflow code',
          `replay ${dealId} (${bundle.body.runs[0]!.runId})`,
          `template and seller signature (${test.seller.id}, cohort-cost-by-zip3)`,
          'receipt matches the histories',
          'receipt in the transparency log',
          'result commitment',
          'money conservation',
          'receipt against the ledger',
          'privacy charges',
        ]),
      );
      expect(report.checks.find((c) => c.check === 'result commitment')?.detail).toMatch(
        /opened with the buyer's key, it matches/,
      );
    });

    it('the bundle digest is in the transparency log; an auditor gets no bundle, only the sealed receipt', async () => {
      const auditor = party(test, 'auditor').client;
      const proof = await auditor.get<InclusionProofResponse>(
        `/log/proof/inclusion?dealId=${dealId}&kind=audit-bundle`,
      );
      const entry = {
        type: 'tusk.log-entry/v1' as const,
        kind: 'audit-bundle' as const,
        dealId,
        digest: bundleDigest(bundle),
      };
      expect(checkInclusion(entry, proof, operatorKey)).toEqual({ ok: true });
      await expect(auditor.get(`/deals/${dealId}/audit-bundle`)).rejects.toMatchObject({
        status: 403,
        code: 'forbidden',
      });
    });

    it('tusk audit bundle | verify: the buyer exports, anyone verifies offline; exit 1 on a finding', async () => {
      const file = join(test.home, 'bundle.json');
      const exported = await tusk(test, ['audit', 'bundle', dealId, '--as', 'demo-buyer', '--out', file]);
      expect(exported.code, exported.stderr).toBe(0);
      const verified = await tusk(test, ['audit', 'verify', file, '--operator-key', operatorKey, '--json']);
      expect(verified.code, verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ dealId, ok: true });
      const wrongOperator = await tusk(test, [
        'audit',
        'verify',
        file,
        '--operator-key',
        party(test, 'auditor').client.publicKey,
      ]);
      expect(wrongOperator.code).toBe(1);
      expect(wrongOperator.stdout).toMatch(/FINDING bundle signed by the operator: signed by key/);
      const notABundle = await tusk(test, [
        'audit',
        'verify',
        join(test.home, 'receipt.json'),
        '--operator-key',
        operatorKey,
      ]);
      expect(notABundle.code).toBe(1);
      expect(notABundle.stderr).toMatch(/is not a Tusk audit bundle/);
    }, 300_000);

    it('a history with an event removed fails replay', async () => {
      const doctored = clone(bundle);
      const events = (doctored.body.runs[0]!.history as HistoryJson).events;
      const index = events.findIndex((e) => e.activityTaskCompletedEventAttributes !== undefined);
      events.splice(index, 1);
      const report = await verifyBundle(resign(signer, doctored), { operatorKey });
      expect(findingsOf(report).some((f) => f.startsWith(`replay ${dealId}`))).toBe(true);
    });

    it('a changed payload breaks the operator signature, and re-signed, the receipt and the money no longer agree', async () => {
      const doctored = clone(bundle);
      const release = activityResult(doctored, 'releaseEscrow');
      release.set({ ...release.value, sellerAmount: '900' });
      expect(findingsOf(await verifyBundle(doctored, { operatorKey }))).toContainEqual(
        expect.stringMatching(/^bundle signed by the operator: the signature does not match/),
      );
      const findings = findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }));
      expect(findings).toContainEqual(
        'money conservation: money is not conserved: deposits 1000 ≠ payouts 900 + fees 25 + refunds 0 = 925',
      );
      expect(findings).toContainEqual(
        expect.stringMatching(/^receipt matches the histories: the receipt's amounts/),
      );
      expect(findings).toContainEqual(
        'receipt against the ledger: the ledger shows 975 paid out, the histories 900',
      );
    });

    it('changed workflow code fails replay with a determinism violation', async () => {
      const report = await verifyBundle(bundle, {
        operatorKey,
        workflowsPath: join(__dirname, '../fixtures/reordered-deal-workflow.ts'),
      });
      expect(findingsOf(report)).toContainEqual(
        expect.stringMatching(new RegExp(`^replay ${dealId} .*DeterminismViolationError`)),
      );
    });

    it('a receipt whose commitment does not match the sealed result is caught, even re-signed', async () => {
      const doctored = clone(bundle);
      const receipt = doctored.body.receipt!;
      const forged = { ...receipt.body, resultCommitment: `sha256:${'ab'.repeat(32)}` };
      doctored.body.receipt = { ...signDocument(signer, forged), openings: receipt.openings! };
      const findings = findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }));
      expect(findings).toContainEqual(
        `result commitment: the receipt's commitment sha256:${'ab'.repeat(32)} is not the sealed result's ${receipt.body.resultCommitment}`,
      );
      expect(findings).toContainEqual(
        expect.stringMatching(/^receipt in the transparency log: the proof is for another entry/),
      );
    });

    it('a receipt missing from the log is caught', async () => {
      const doctored = clone(bundle);
      // The proof of another entry (the second deal's receipt, or this bundle's own entry).
      const other = await test.deployment.buyer.client.get<InclusionProofResponse>(
        `/log/proof/inclusion?leafIndex=0`,
      );
      doctored.body.receiptInclusion =
        other.leafHash === bundle.body.receiptInclusion!.leafHash
          ? await test.deployment.buyer.client.get<InclusionProofResponse>(`/log/proof/inclusion?leafIndex=1`)
          : other;
      expect(findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }))).toContainEqual(
        'receipt in the transparency log: the proof is for another entry than the one checked',
      );
    });
  });

  it('bad proof requests are refused with a reason', async () => {
    const client = party(test, 'auditor').client;
    await expect(client.get('/log/proof/consistency?first=5&second=999')).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
    await expect(client.get('/log/proof/inclusion?dealId=nope')).rejects.toMatchObject({ status: 404 });
    await expect(client.get('/log/proof/inclusion')).rejects.toMatchObject({ status: 400 });
  });
});
