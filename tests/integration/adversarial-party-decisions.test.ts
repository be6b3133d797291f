import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { confirmDeal, openDispute } from '../../lib/signed-actions';
import type { DealStatus } from '../../workflows/deal/state';
import { confirmDealUpdate, openDisputeUpdate } from '../../workflows/deal/workflow';
import { disputeWorkflowId } from '../../lib/ids/workflow-ids';
import { dealTermsQuery } from '../../workflows/deal-terms';
import { termsHashOf } from '../../lib/signed-terms';
import { signDecision, type DecisionScope } from '../../lib/signed-decision';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, sellerIdentity, signedBy, updateRefusal } from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

/**
 * The operator runs Temporal and holds the codec keys: it can send any update to a deal. A buyer's
 * confirmation (which pays the seller before the acceptance window ends) and a party's dispute
 * (which freezes the escrow, in the name of whoever opened it) count only when signed by that
 * party over this very run of this deal; the operator's own, a forged or a copied one moves nothing.
 */
describe("a deal's confirmation and dispute, sent straight to Temporal by the operator", () => {
  let test: TestDeployment;
  let target: string;
  let other: string;
  const buyerId = () => test.deployment.buyer.id;
  const sellerId = () => test.seller.id;
  const dealStatus = (dealId: string) => test.deployment.buyer.client.get<DealStatus>(`/deals/${dealId}`);
  const sellerBalance = () => test.deployment.ledger.balanceOf(sellerId());
  const handle = () => test.temporal.workflow.getHandle(target);
  const scopeOf = async (dealId: string) => (await dealStatus(dealId)).scope!;
  /** A decision signed with the seller's own key, as itself or in another party's name. */
  const sellerSigns = (
    scope: DecisionScope,
    action: 'deal_confirmation' | 'dispute_opening',
    content: object,
    principal = sellerId(),
  ) =>
    signDecision(test.seller.keys.privateKeyPem, {
      ...scope,
      action,
      principal,
      content,
      notAfter: Date.now() + 600_000,
    });

  beforeAll(async () => {
    test = await startTestDeployment(
      'party-decisions',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      // A window long enough that only a confirmation could pay the seller within the test.
      { parties: LIFECYCLE_PARTIES, acceptanceTimeoutMs: 600_000 },
    );
    const [a, b] = await Promise.all([
      buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS),
      buyDeal(test.deployment, 'cohort-cost-by-zip3', { ...PARAMETERS, sex: 'M' }),
    ]);
    target = a.dealId;
    other = b.dealId;
    await Promise.all([a.delivered(), b.delivered()]);
  });
  afterAll(() => test?.close());

  /** What the attacks must leave as it was: delivered, not confirmed, no dispute, the seller unpaid. */
  async function expectUntouched(balanceBefore: bigint) {
    const status = await dealStatus(target);
    expect(status.stage).toBe('delivered');
    expect(status.confirmedBy).toBeUndefined();
    expect(status.dispute).toBeUndefined();
    expect(await sellerBalance()).toBe(balanceBefore);
    await expect(
      test.temporal.workflow.getHandle(disputeWorkflowId(target)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }

  it('every deal shows the scope its parties sign over: its own run, the deal and its terms hash', async () => {
    const [a, b] = await Promise.all([scopeOf(target), scopeOf(other)]);
    expect(a).toMatchObject({ workflowId: target, subject: { id: target } });
    expect(a.runId).toBe((await handle().describe()).runId);
    // The hash of the terms the buyer signed, as the buyer computes it on its own machine.
    expect(a.subject.termsHash).toBe(termsHashOf(await handle().query(dealTermsQuery)));
    expect(b.runId).not.toBe(a.runId);
  });

  it('a confirmation unsigned, signed by another key or copied from another deal is refused', async () => {
    const before = await sellerBalance();
    const scope = await scopeOf(target);
    // The update as it was before it was signed: no argument at all, or an empty one.
    expect(await updateRefusal(handle().executeUpdate('confirmDeal'))).toMatch(/not signed/);
    expect(await updateRefusal(handle().executeUpdate(confirmDealUpdate, { args: [{} as never] }))).toMatch(
      /not signed/,
    );
    // The seller's key, signing as itself or in the buyer's name.
    const sellersOwn = sellerSigns(scope, 'deal_confirmation', {});
    expect(
      await updateRefusal(handle().executeUpdate(confirmDealUpdate, { args: [{ signed: sellersOwn }] })),
    ).toMatch(new RegExp(`${buyerId()} must sign it`));
    const forged = sellerSigns(scope, 'deal_confirmation', {}, buyerId());
    expect(
      await updateRefusal(handle().executeUpdate(confirmDealUpdate, { args: [{ signed: forged }] })),
    ).toMatch(new RegExp(`the signature is not ${buyerId()}'s`));
    // The buyer's genuine confirmation of the other deal, replayed onto this one.
    const copied = signedBy(test, buyerId(), await scopeOf(other), 'deal_confirmation', {});
    expect(
      await updateRefusal(handle().executeUpdate(confirmDealUpdate, { args: [{ signed: copied }] })),
    ).toMatch(/signed for run/);
    // The buyer's decision of another kind on this very run (its dispute) is no confirmation.
    const otherAction = signedBy(test, buyerId(), scope, 'dispute_opening', { reason: 'x' });
    expect(
      await updateRefusal(
        handle().executeUpdate(confirmDealUpdate, { args: [{ signed: otherAction } as never] }),
      ),
    ).toMatch(/signed as dispute_opening, not deal_confirmation/);
    await expectUntouched(before);
  });

  it('a dispute unsigned, in a party’s name by another key, by a third party or copied is refused', async () => {
    const before = await sellerBalance();
    const scope = await scopeOf(target);
    const send = (signed: unknown) =>
      handle().executeUpdate(openDisputeUpdate, { args: [{ signed } as never] });
    // The update as it was: an unsigned `by`, naming either party.
    for (const by of [buyerId(), sellerId()])
      expect(
        await updateRefusal(
          handle().executeUpdate(openDisputeUpdate, { args: [{ by, reason: 'frozen' } as never] }),
        ),
      ).toMatch(/not signed/);
    // Another key in the buyer's or the seller's name: the seller's, a compliance principal's.
    const inBuyersName = sellerSigns(scope, 'dispute_opening', { reason: 'r' }, buyerId());
    expect(await updateRefusal(send(inBuyersName))).toMatch(
      new RegExp(`the signature is not ${buyerId()}'s`),
    );
    const inSellersName = signedBy(
      test,
      'compliance-1',
      scope,
      'dispute_opening',
      { reason: 'r' },
      {
        principal: sellerId(),
      },
    );
    expect(await updateRefusal(send(inSellersName))).toMatch(
      new RegExp(`the signature is not ${sellerId()}'s`),
    );
    // A registered party that is neither, signing as itself.
    const outsider = signedBy(test, 'auditor', scope, 'dispute_opening', { reason: 'r' });
    expect(await updateRefusal(send(outsider))).toMatch(/only the buyer or the seller/);
    // The buyer's genuine dispute of the other deal, replayed onto this one.
    const copied = signedBy(test, buyerId(), await scopeOf(other), 'dispute_opening', { reason: 'r' });
    expect(await updateRefusal(send(copied))).toMatch(/signed for run/);
    // The buyer's genuine dispute of this deal with its reason changed: the signature no longer holds.
    const genuine = signedBy(test, buyerId(), scope, 'dispute_opening', { reason: 'rows missing' });
    const reworded = { ...genuine, statement: { ...genuine.statement, content: { reason: 'fraud' } } };
    expect(await updateRefusal(send(reworded))).toMatch(new RegExp(`the signature is not ${buyerId()}'s`));
    await expectUntouched(before);
  });

  it("the parties' own signed decisions still work: the seller disputes one deal, the buyer confirms the other", async () => {
    const seller = sellerIdentity(test);
    const disputed = await openDispute<DealStatus>(seller.client, other, 'the buyer will not confirm');
    expect(disputed).toMatchObject({
      stage: 'disputed',
      dispute: { openedBy: sellerId(), reason: 'the buyer will not confirm' },
    });

    const before = await sellerBalance();
    const confirmed = await confirmDeal<DealStatus>(test.deployment.buyer.client, target);
    expect(confirmed).toMatchObject({ stage: 'confirmed', confirmedBy: 'buyer' });
    expect((await handle().result()).stage).toBe('settled');
    expect(await sellerBalance()).toBeGreaterThan(before);
  });
});
