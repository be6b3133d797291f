import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import type { TestDeployment } from '../integration/harness';
import { terminateRunning } from '../integration/lifecycle-harness';
import { balances, moved, TEST_ACCOUNT } from './harness';
import {
  journalOf,
  killWhileInFlight,
  LANDED,
  party,
  payInto,
  scheduledCount,
  startAztecLifecycleDeployment,
  txStatus,
  waitFor,
} from './lifecycle-helpers';
import { submitGrantEvidence } from '../../lib/signed-actions';

// The sponsor pays from the buyer's test account, the lab is paid into the seller's (see
// AZTEC_LIFECYCLE_PARTIES): the local network has three funded accounts only.
const { buyer: sponsorAccount, seller: labAccount, operator } = TEST_ACCOUNT;
const COHORT = { min_age: 30, max_age: 50, sex: 'F' };

describe('a milestone grant settled on a real Aztec local network', () => {
  let test: TestDeployment;
  let sponsor: PartyIdentity;
  let lab: PartyIdentity;
  const grantId = `grant-aztec-${crypto.randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    test = await startAztecLifecycleDeployment('aztec-grant');
    sponsor = party(test, 'sponsor');
    lab = party(test, 'lab');
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, [grantWorkflowId(grantId)]);
    await test?.close();
  });

  it('pays one tranche once though the settlement worker is killed sending it, and refunds the rest to the sponsor', async () => {
    const status = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
    const { templates } = await sponsor.client.get<{ templates: { id: string; hash: string }[] }>(
      '/templates',
    );
    const check = (threshold: number) => ({
      kind: 'query',
      templateId: templates[0]!.id,
      templateHash: templates[0]!.hash,
      parameters: COHORT,
      metric: 'patients',
      threshold,
    });
    const before = await balances();
    const now = Date.now();
    // The payer signs the request: its escrows are named under the nonce it signed.
    const signed = sponsor.client.signed('grant', {
      grantId,
      granteeId: lab.id,
      milestones: [
        {
          milestoneId: 'enrolled',
          name: '≥ 1,000 participants enrolled',
          amount: '600',
          deadline: new Date(now + 900_000).toISOString(),
          check: check(1000),
        },
        {
          // Missed: nobody can meet it. Its deadline leaves time to fund and check the other first.
          milestoneId: 'scaled-up',
          name: '≥ 1,000,000,000 participants enrolled',
          amount: '400',
          deadline: new Date(now + 120_000).toISOString(),
          check: check(1e9),
        },
      ],
    });
    const created = await sponsor.client.request<GrantStatus>('POST', '/grants', signed);
    expect(created.status).toBe(201);

    // The sponsor funds the whole grant from its own wallet into the grant's escrow.
    const funding = await waitFor(status, (s) => s.escrow !== undefined || s.problem !== undefined, 120_000);
    expect(funding).toMatchObject({ stage: 'funding' });
    await payInto(sponsorAccount, funding.escrow!.address, '1000');
    await waitFor(status, (s) => s.stage !== 'funding', 120_000);
    expect((await status()).stage).toBe('active');
    await submitGrantEvidence(lab.client, grantId, 'enrolled', 'enrolment log');

    // The tranche's withdrawal is in flight: the settlement worker dies before recording it.
    const escrow = grantEscrowId(grantId, termsNonceOf({ body: signed }));
    const { sent, statusAtKill } = await killWhileInFlight(test, escrow, 'part:enrolled');
    expect(statusAtKill).toBe('pending');
    expect((await status()).milestones[0]!.stage).not.toBe('released');
    await test.deployment.restart('settlement worker');

    const ended = await waitFor(status, (s) => s.stage === 'ended' || s.stage === 'failed', 300_000);
    expect(ended.milestones.map((m) => m.stage)).toEqual(['released', 'missed']);
    expect(ended).toMatchObject({ stage: 'ended', refunded: '400' });
    expect(ended.attention).toBeUndefined();

    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({
      [sponsorAccount]: -1000n + 400n,
      [labAccount]: 585n,
      [operator]: 15n,
    });
    expect(after.escrows[escrow]).toBe(0n);
    // The transaction sent before the kill is the one that landed, and the only tranche.
    const journal = journalOf(test);
    expect((await journal.get(escrow, 'part:enrolled'))?.txHash).toBe(sent.txHash);
    expect(LANDED).toContain(await txStatus(sent.txHash));
    expect(await journal.get(escrow, 'part:scaled-up')).toBeUndefined();
    expect(LANDED).toContain(await txStatus((await journal.get(escrow, 'remainder'))!.txHash));
    expect(await scheduledCount(test, grantWorkflowId(grantId), 'releasePart')).toBe(1);
  });
});
