import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addParty } from '../../lib/parties';
import { keyPaths } from '../../cli/common';
import { PartyRegistry } from '../../lib/parties';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import { startDealWorkflow, type TestDeployment } from '../integration/harness';
import { slowTemplate } from '../integration/slow-template';
import { balances, escrowOfDeal, moved, payWhenAsked, TEST_ACCOUNT } from './harness';
import {
  journalOf,
  LANDED,
  sentFor,
  startAztecLifecycleDeployment,
  txStatus,
  waitFor,
} from './lifecycle-helpers';

const run = promisify(execFile);
const TUSK = join(__dirname, '../../bin/tusk');
const { buyer, seller, operator } = TEST_ACCOUNT;

describe('a refund on Aztec that fails, then succeeds through the operator’s retry', () => {
  let test: TestDeployment;
  let slow: QueryTemplate;
  beforeAll(async () => {
    test = await startAztecLifecycleDeployment('aztec-retry', { queryTimeoutMs: 8000 }, async (s) => {
      slow = await s.publish(slowTemplate(await s.publishDemoTemplate()));
    });
    const keyFile = keyPaths(test.home, 'ops').signing;
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, test.deployment.parties.get('ops')!.signingKeyPem, { mode: 0o600 });
  });
  afterAll(() => test?.close());

  it('the deal waits in needs_attention with the reason; `tusk operator retry` refunds the buyer in full', async () => {
    const partiesFile = join(test.home, 'parties.json');
    const registered = (await PartyRegistry.load(partiesFile)).get('demo-buyer')!;
    const before = await balances();
    const handle = await startDealWorkflow(test, {
      templateId: slow.id,
      templateHash: templateHash(slow),
      parameters: { repeat: 1000, min_age: 0 },
    });
    const dealId = handle.workflowId;
    const status = () => handle.query(dealStatusQuery);
    await payWhenAsked(status, '1000');
    await waitFor(status, (s) => s.stage === 'query_running' || s.problem !== undefined, 120_000);
    // The operator's registry loses the buyer's Aztec address while the query runs out of time: the
    // refund has nowhere to send the money, and is refused.
    const { aztecAddress, ...withoutAddress } = registered;
    await addParty(partiesFile, withoutAddress);

    const stuck = await waitFor(
      status,
      (s) => s.stage === 'needs_attention' || s.stage === 'refunded',
      120_000,
    );
    expect(stuck).toMatchObject({
      stage: 'needs_attention',
      problem: { code: 'QueryFailedAfterReservation' },
    });
    expect(stuck.attention).toEqual([
      expect.objectContaining({ step: 'refund', code: 'UnknownParty', failures: 1 }),
    ]);
    const escrow = await escrowOfDeal(test, dealId);
    expect(await journalOf(test).get(escrow, 'refund')).toBeUndefined();

    // The operator restores the address and retries, as it would from its shell.
    await addParty(partiesFile, { ...withoutAddress, aztecAddress: aztecAddress! });
    const api = test.deployment.buyer.client.baseUrl;
    const { stdout } = await run(TUSK, [
      'operator',
      'retry',
      dealId,
      '--as',
      'ops',
      '--home',
      test.home,
      '--json',
      '--api',
      api,
    ]);
    expect(JSON.parse(stdout)).toEqual({ workflowId: dealId, retrying: ['refund'] });

    const done = await handle.result();
    expect(done).toMatchObject({ stage: 'refunded', problem: { code: 'QueryFailedAfterReservation' } });
    expect(done.attention).toBeUndefined();
    expect(done.timeline.map((t) => t.stage).slice(-3)).toEqual([
      'query_running',
      'needs_attention',
      'refunded',
    ]);

    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect(after.escrows[escrow]).toBe(0n);
    // The buyer's payment, then exactly one refund transaction.
    expect(await sentFor(test, escrow)).toEqual(['refund']);
    expect(LANDED).toContain(await txStatus((await journalOf(test).get(escrow, 'refund'))!.txHash));
  });
});
