import { execFile } from 'node:child_process';
import { mkdir, rename, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPaths } from '../../cli/common';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import { budgetOf, startDealWorkflow, startTestDeployment, type TestDeployment } from './harness';
import { slowTemplate } from './slow-template';

const run = promisify(execFile);
const TUSK = join(__dirname, '../../bin/tusk');

/** `tusk operator retry` as the operator would type it; resolves with its exit code and output. */
async function operatorRetry(test: TestDeployment, dealId: string) {
  const args = ['operator', 'retry', dealId, '--as', 'ops', '--home', test.home, '--json'];
  const api = test.deployment.buyer.client.baseUrl;
  return run(TUSK, [...args, '--api', api]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('no stuck money: a compensation that fails waits for the operator, the others still run', () => {
  let test: TestDeployment;
  let slow: QueryTemplate;

  beforeAll(async () => {
    test = await startTestDeployment(
      'attention',
      async (seller) => {
        slow = await seller.publish(slowTemplate(await seller.publishDemoTemplate()));
      },
      { queryTimeoutMs: 4000, parties: [{ id: 'ops', role: 'operator' }] },
    );
    const ops = test.deployment.parties.get('ops')!;
    const keyFile = keyPaths(test.home, 'ops').signing;
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, ops.signingKeyPem, { mode: 0o600 });
  });
  afterAll(() => test?.close());

  const ledgerFile = () => test.deployment.ledger.path;
  const buyerBalance = () => test.deployment.ledger.balanceOf('demo-buyer');

  it('a refund that fails goes to needs_attention with its reason, the privacy charge stands, and the operator retry refunds', async () => {
    const handle = await startDealWorkflow(test, {
      templateId: slow.id,
      templateHash: templateHash(slow),
      parameters: { repeat: 1000, min_age: 0 },
    });
    const status = () => handle.query(dealStatusQuery);
    while ((await status()).stage !== 'query_running') await new Promise((r) => setTimeout(r, 50));
    expect(await buyerBalance()).toBe(4000n);

    // The ledger becomes unusable while the query runs out of time: the refund cannot find the escrow.
    await rename(ledgerFile(), `${ledgerFile()}.aside`);
    await mkdir(ledgerFile());
    let stuck = await status();
    while (stuck.stage !== 'needs_attention') {
      expect(['query_running']).toContain(stuck.stage);
      await new Promise((r) => setTimeout(r, 100));
      stuck = await status();
    }
    expect(stuck.problem).toMatchObject({ code: 'QueryFailedAfterReservation' });
    expect(stuck.attention).toEqual([
      expect.objectContaining({ step: 'refund', code: 'EscrowNotLocked', failures: 1 }),
    ]);
    // The other compensation ran: the query had started, so its privacy cost is charged, not given back.
    expect((await budgetOf(test.deployment.buyer.client, test.seller.id)).buyer!.spent.epsilon).toBe(
      slow.privacy.epsilon,
    );
    // The API shows it too.
    const viaApi = await test.deployment.buyer.client.get<typeof stuck>(`/deals/${handle.workflowId}`);
    expect(viaApi).toMatchObject({ stage: 'needs_attention', attention: [{ step: 'refund' }] });

    // Retrying while the fault is still there fails again, and the deal keeps waiting.
    const first = await operatorRetry(test, handle.workflowId);
    expect(first.code).toBe(0);
    let again = await status();
    while (again.attention?.[0]?.failures !== 2) {
      await new Promise((r) => setTimeout(r, 100));
      again = await status();
    }
    expect(again.stage).toBe('needs_attention');

    // The operator repairs the ledger and retries: the buyer is refunded.
    await rmdir(ledgerFile());
    await rename(`${ledgerFile()}.aside`, ledgerFile());
    const second = await operatorRetry(test, handle.workflowId);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ workflowId: handle.workflowId, retrying: ['refund'] });
    const done = await handle.result();
    expect(done).toMatchObject({ stage: 'refunded', problem: { code: 'QueryFailedAfterReservation' } });
    expect(done.attention).toBeUndefined();
    expect(done.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'budget_reserved',
      'escrow_locked',
      'query_running',
      'needs_attention',
      'refunded',
    ]);
    expect(await buyerBalance()).toBe(5000n);
  });

  it('a retry with nothing to retry is refused with the reason (exit 1); a buyer may not retry', async () => {
    const refused = await operatorRetry(test, 'no-such-deal');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not_found/);
    await expect(
      test.deployment.buyer.client.post('/settlement/retry', { kind: 'deal', id: 'x' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
});
