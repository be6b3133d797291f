import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPrivacyEntries } from '../../audit/privacy-entries';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { dealEscrowId, parseEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { CohortQueryDealInput } from '../../workflows/deal/state';
import type { GrantStatus, MilestoneGrantInput } from '../../workflows/grant/state';
import { approveMilestoneUpdate, grantStatusQuery, milestoneGrant } from '../../workflows/grant/workflow';
import { Worker } from '@temporalio/worker';
import { splitFee } from '../../activities/settlement/port';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { approveMilestone, submitGrantEvidence } from '../../lib/signed-actions';
import { COORDINATOR_TASK_QUEUE } from '../../lib/task-queues';
import { connectWorker } from '../../lib/temporal';
import type { VerifyDecisionInput } from '../../activities/coordinator/decision-check';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import {
  dealTermsBody,
  RESEARCH_IN_US,
  startDealWorkflow,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { LIFECYCLE_PARTIES, party, signedBy, waitFor } from './lifecycle-harness';

/**
 * The operator, holding Temporal and the history codec keys, starts lifecycles straight on Temporal
 * with the payer's genuine signature over other money: settlement moves nothing the payer did not sign.
 */
describe('money the payer did not sign, started straight on Temporal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let sponsor: PartyIdentity;
  let lab: PartyIdentity;
  const BUYER = 'demo-buyer';

  beforeAll(async () => {
    test = await startTestDeployment(
      'money',
      async (seller) => {
        template = await seller.publishDemoTemplate();
      },
      { parties: LIFECYCLE_PARTIES, buyerFunds: 10_000n },
    );
    sponsor = party(test, 'sponsor');
    lab = party(test, 'lab');
  });
  afterAll(() => test?.close());

  const balances = async (...accounts: string[]) => {
    const state = await test.deployment.ledger.state();
    return Object.fromEntries(accounts.map((a) => [a, state.balances.get(a) ?? 0n]));
  };
  /** Every escrow the ledger ever opened for this business id, whatever its nonce. */
  const escrowsOf = async (id: string) =>
    [...(await test.deployment.ledger.state()).escrows.entries()].filter(([escrowId]) => {
      const ref = parseEscrowId(escrowId);
      return ref && ('dealId' in ref ? ref.dealId : 'grantId' in ref ? ref.grantId : undefined) === id;
    });

  /** The terms the demo buyer signs for a deal at the template's price and the platform's fee. */
  function genuineDealTerms(dealId: string): SignedTerms {
    const signed: Omit<CohortQueryDealInput, 'terms'> = {
      dealId,
      buyerId: BUYER,
      sellerId: test.seller.id,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: { min_age: 30, max_age: 50, sex: 'F' },
      price: '1000',
      feeBps: 250,
      buyerKeyRef: '',
      compliance: RESEARCH_IN_US,
      acceptanceTimeoutMs: 1_000,
    };
    return test.deployment.buyer.client.signTerms(
      'cohort_query',
      dealTermsBody(signed, test.deployment.buyer),
    );
  }

  it("genuine terms with another price or a 100% fee: nothing is locked or paid, the buyer's balance is unchanged", async () => {
    const before = await balances(BUYER, test.seller.id, OPERATOR_ACCOUNT);
    for (const forged of [
      { price: '5000', feeBps: 10_000 },
      { price: '1000', feeBps: 10_000 },
      { price: '999', feeBps: 250 },
    ]) {
      const dealId = `forged-money-${crypto.randomUUID()}`;
      const handle = await startDealWorkflow(test, {
        dealId,
        templateId: template.id,
        templateHash: templateHash(template),
        acceptanceTimeoutMs: 1_000,
        ...forged,
        terms: genuineDealTerms(dealId),
      });
      const status = await handle.result();
      expect(status.stage, JSON.stringify(forged)).toBe('failed');
      // Refused by settlement for the money, after the perimeter accepted the genuine query terms.
      expect(status.problem).toMatchObject({
        code: 'TermsMismatch',
        reason: expect.stringMatching(/asked; the payer signed/),
      });
      expect(status.result).toBeUndefined();
      expect(await escrowsOf(dealId)).toEqual([]);
    }
    expect(await balances(BUYER, test.seller.id, OPERATOR_ACCOUNT)).toEqual(before);
  });

  it('a deal id run again after its workflow is gone: the same terms are not charged twice; re-signed under a new nonce, a new escrow, answer and charge', async () => {
    const dealId = `reused-${crypto.randomUUID()}`;
    const terms = genuineDealTerms(dealId);
    const run = async (signed: SignedTerms) =>
      (
        await startDealWorkflow(test, {
          dealId,
          templateId: template.id,
          templateHash: templateHash(template),
          acceptanceTimeoutMs: 1_000,
          parameters: signed.body.parameters as CohortQueryDealInput['parameters'],
          terms: signed,
        })
      ).result();
    const start = await balances(BUYER, test.seller.id);
    const first = await run(terms);
    expect(first.stage).toBe('settled');
    const once = await balances(BUYER, test.seller.id);
    expect(once[BUYER]).toBe(start[BUYER]! - 1000n);

    // The first run is over and closed: the operator starts the id again with the same signed terms.
    expect((await run(terms)).stage).toBe('settled');
    expect(await balances(BUYER, test.seller.id)).toEqual(once);
    expect((await escrowsOf(dealId)).map(([id]) => id)).toEqual([
      dealEscrowId(dealId, terms.body.nonce as string),
    ]);

    // The buyer signs the same deal id afresh: another nonce, so another escrow, a new answer for
    // these terms (released under their hash), and a second charge. The first escrow is untouched.
    const again = genuineDealTerms(dealId);
    expect(again.body.nonce).not.toBe(terms.body.nonce);
    const second = await run(again);
    expect(second.stage).toBe('settled');
    expect(second.result?.resultRef).toBeDefined();
    expect(second.result?.release?.body.termsHash).toBe(termsHashOf(again));
    expect(first.result?.release?.body.termsHash).toBe(termsHashOf(terms));
    expect((await escrowsOf(dealId)).map(([id]) => id).sort()).toEqual(
      [
        dealEscrowId(dealId, terms.body.nonce as string),
        dealEscrowId(dealId, again.body.nonce as string),
      ].sort(),
    );
    // The same query: the stored noisy answer, served to the new terms as a repeat at no further ε;
    // the seller's ledger keeps an entry per nonce, each read back by an audit under its own nonce.
    expect(second.result).toMatchObject({ repeat: true, epsilonSpent: 0 });
    const { entries } = await readPrivacyEntries(
      join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite'),
      test.seller.directory,
      [dealId],
    );
    const byNonce = Object.fromEntries(
      entries.filter((e) => e.dealId === dealId).map((e) => [e.nonce, [e.state, e.microEpsilon]]),
    );
    expect(byNonce).toEqual({
      [terms.body.nonce as string]: ['committed', first.result!.epsilonSpent * 1e6],
      [again.body.nonce as string]: ['committed', 0],
    });
    const twice = await balances(BUYER, test.seller.id);
    expect(twice[BUYER]).toBe(once[BUYER]! - 1000n);
    expect(twice[test.seller.id]! - once[test.seller.id]!).toBe(
      once[test.seller.id]! - start[test.seller.id]!,
    );

    // Other terms under a nonce already used for this id (the buyer's own signature, another query):
    // refused by the perimeter before anything is locked, nothing answered or charged.
    const clash = test.deployment.buyer.client.signTerms('cohort_query', {
      ...again.body,
      parameters: { min_age: 31, max_age: 50, sex: 'F' },
    });
    expect(clash.body.nonce).toBe(again.body.nonce);
    const refused = await run(clash);
    expect(refused).toMatchObject({ stage: 'failed', problem: { code: 'TermsConflict' } });
    expect(refused.result).toBeUndefined();
    expect((await escrowsOf(dealId)).length).toBe(2);
    expect(await balances(BUYER, test.seller.id)).toEqual(twice);

    // Another registered buyer's key under the id, with a nonce of its own: refused the same way.
    const other = party(test, 'thin-buyer');
    const { nonce: _reused, ...body } = again.body;
    const foreign = other.client.signTerms('cohort_query', body);
    expect(foreign.body.nonce).not.toBe(again.body.nonce);
    const byOther = await (
      await startDealWorkflow(test, {
        dealId,
        buyerId: other.id,
        templateId: template.id,
        templateHash: templateHash(template),
        acceptanceTimeoutMs: 1_000,
        terms: foreign,
      })
    ).result();
    expect(byOther).toMatchObject({ stage: 'failed', problem: { code: 'TermsConflict' } });
    expect((await escrowsOf(dealId)).length).toBe(2);
    expect(await balances(BUYER, test.seller.id)).toEqual(twice);
  });

  /** The sponsor's grant of one tranche to the lab, approved by the sponsor. */
  function grantInput(grantId: string): Omit<MilestoneGrantInput, 'terms'> & { deadline: string } {
    const deadline = Date.now() + 600_000;
    return {
      grantId,
      sponsorId: sponsor.id,
      granteeId: lab.id,
      feeBps: 250,
      milestones: [
        {
          milestoneId: 'report',
          name: 'report',
          amount: '700',
          deadline,
          check: { kind: 'sponsor_approval' },
        },
      ],
      deadline: new Date(deadline).toISOString(),
    };
  }
  const grantBody = (input: ReturnType<typeof grantInput>) => ({
    grantId: input.grantId,
    granteeId: input.granteeId,
    milestones: input.milestones.map((m) => ({ ...m, deadline: input.deadline })),
  });
  async function runGrant(input: MilestoneGrantInput) {
    const { deadline: _deadline, ...args } = input as MilestoneGrantInput & { deadline?: string };
    return test.temporal.workflow.execute(milestoneGrant, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: grantWorkflowId(input.grantId),
      args: [args],
    });
  }

  it("a grant without the sponsor's signature is refused and pays nothing", async () => {
    const before = await balances(sponsor.id, lab.id, OPERATOR_ACCOUNT);
    const input = grantInput(`unsigned-${crypto.randomUUID()}`);
    // The sponsor's name and key, but the operator's signature over the operator's choice of grant.
    const operator = generateEd25519KeyPair();
    const forged = {
      ...signTerms(
        'grant',
        sponsor.id,
        sponsor.client.signTerms('grant', grantBody(input)).body,
        operator.privateKeyPem,
      ),
      publicKey: sponsor.client.publicKey,
    };
    const status = await runGrant({ ...input, terms: forged });
    expect(status.stage).toBe('failed');
    // Refused before the escrow opens: the signature is not the sponsor's registered key's.
    expect(status.problem).toMatchObject({ code: 'PayerNotSigned' });
    expect(await escrowsOf(input.grantId)).toEqual([]);
    expect(await balances(sponsor.id, lab.id, OPERATOR_ACCOUNT)).toEqual(before);
  });

  it('a grant whose tranche would go to another grantee is refused and pays nothing', async () => {
    const before = await balances(sponsor.id, lab.id, 'thin-buyer', OPERATOR_ACCOUNT);
    const input = grantInput(`regranted-${crypto.randomUUID()}`);
    const terms = sponsor.client.signTerms('grant', grantBody(input));
    const status = await runGrant({ ...input, granteeId: 'thin-buyer', terms });
    expect(status.stage).toBe('failed');
    expect(status.problem).toMatchObject({
      code: 'TermsMismatch',
      reason: expect.stringMatching(/a payout to thin-buyer is planned; the payer signed lab/),
    });
    expect(await escrowsOf(input.grantId)).toEqual([]);
    expect(await balances(sponsor.id, lab.id, 'thin-buyer', OPERATOR_ACCOUNT)).toEqual(before);
  });

  /**
   * The operator's own coordinator, vouching for every decision: the workflow counts whatever it is
   * sent. Runs `attack` while it answers the coordinator's queue, then gives the queue back.
   */
  async function withOperatorsCoordinator(attack: () => Promise<void>): Promise<void> {
    await test.deployment.services.get('coordinator worker')!.stop();
    const connection = await connectWorker(inject('temporalAddress'));
    try {
      const fake = await Worker.create({
        connection,
        dataConverter: historyDataConverter(test.codec),
        taskQueue: COORDINATOR_TASK_QUEUE,
        activities: {
          verifyDecision: async ({ signed }: VerifyDecisionInput) => ({
            principal: signed.statement.principal,
            key: 'vouched-for-by-the-operator',
          }),
          notifyParty: async () => undefined,
        },
      });
      await fake.runUntil(attack);
    } finally {
      await connection.close();
      await test.deployment.restart('coordinator worker');
    }
  }

  it("an approval the operator's coordinator vouches for pays nothing; the sponsor's own approval pays", async () => {
    const input = grantInput(`vouched-${crypto.randomUUID()}`);
    const { deadline: _deadline, ...args } = input;
    const handle = await test.temporal.workflow.start(milestoneGrant, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: grantWorkflowId(input.grantId),
      args: [{ ...args, terms: sponsor.client.signTerms('grant', grantBody(input)) }],
    });
    const status = () => handle.query(grantStatusQuery);
    const { scope } = await waitFor(status, (s: GrantStatus) => s.stage === 'active');
    await submitGrantEvidence(lab.client, input.grantId, 'report', 'the final report');
    const before = await balances(lab.id, OPERATOR_ACCOUNT);

    await withOperatorsCoordinator(async () => {
      // The lab signs the approval in the sponsor's name; the operator's coordinator says it is the sponsor's.
      const forged = signedBy(
        test,
        lab.id,
        scope!,
        'milestone_approval',
        { milestoneId: 'report' },
        {
          principal: sponsor.id,
        },
      );
      await handle.executeUpdate(approveMilestoneUpdate, { args: [{ signed: forged }] });
      const refused = await waitFor(status, (s: GrantStatus) => s.milestones[0]!.lastCheck !== undefined);
      expect(refused.milestones[0]).toMatchObject({
        stage: 'open',
        lastCheck: { met: false, problem: 'TrancheUnproven' },
      });
    });
    expect(await balances(lab.id, OPERATOR_ACCOUNT)).toEqual(before);

    await approveMilestone(sponsor.client, input.grantId, 'report');
    const completed = await waitFor(status, (s: GrantStatus) => s.stage === 'completed');
    expect(completed.milestones[0]).toMatchObject({ stage: 'released' });
    const { sellerAmount, feeAmount } = splitFee(700n, 250);
    expect(await balances(lab.id, OPERATOR_ACCOUNT)).toEqual({
      [lab.id]: before[lab.id]! + sellerAmount,
      [OPERATOR_ACCOUNT]: before[OPERATOR_ACCOUNT]! + feeAmount,
    });
  });
});
