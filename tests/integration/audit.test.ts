import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../cli/buyer';
import { checkReceipt, receiptDigest, type SignedReceipt } from '../../lib/audit/receipt';
import {
  checkConsistency,
  checkInclusion,
  type ConsistencyProofResponse,
  type InclusionProofResponse,
  type SignedTreeHead,
} from '../../lib/audit/tree-head';
import type { DealStatus } from '../../workflows/deal/state';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party } from './lifecycle-harness';

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
    await test.deployment.buyer.client.post<DealStatus>(`/deals/${dealId}/confirm`);
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
      templateId: 'cohort-cost-by-zip3',
      resultCommitment: expect.stringMatching(/^sha256:/),
      settlement: { adapter: 'local-ledger' },
    });
    expect(receipt.body.settlement.ledgerEntries.map((e) => e.kind)).toEqual(['lock', 'release', 'receipt']);
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
    await test.deployment.buyer.client.post(`/deals/${second.dealId}/confirm`);
    await settledAndClosed(test, second.dealId);
    await client.get(`/deals/${second.dealId}/receipt`);
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
  });

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
