import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { concedeSubscriptionPeriod, disputeSubscriptionPeriod } from '../../lib/signed-actions';
import { signDecision, type SignedDecision } from '../../lib/signed-decision';
import { termsBodyOf, termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import {
  concedePeriodUpdate,
  disputePeriodUpdate,
  type DisputePeriodRequest,
} from '../../workflows/subscription/workflow';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  sellerIdentity,
  signedBy,
  terminateRunning,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';
import { ledgerBalances, startOperatorWorker, type OperatorWorker } from './operator-worker';
import { slowTemplate } from './slow-template';

/** Long enough for a period to be delivered, disputed and conceded before it ends, on a busy machine. */
const PERIOD_S = 20;
const GRACE_MS = 6000;
const PRICE = '1000';
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/**
 * A subscriber disputes a delivered period, through the API and the CLI's calls, and its seller
 * concedes it: the period is refunded on the seller's signed consent, and a dispute the seller does
 * not concede lapses and the seller is paid. As the operator (straight on Temporal, on the codec
 * keys), a dispute under another key or for another period, and a concession of one period sent for
 * another, are refused by the workflow and by settlement: nothing moves.
 */
describe("a delivered subscription period: the subscriber's dispute, the seller's concession", () => {
  let test: TestDeployment;
  let operator: OperatorWorker | undefined;
  let buyer: PartyIdentity;
  const ids = {
    disputed: `sub-disputed-${crypto.randomUUID()}`,
    stranded: `sub-stranded-${crypto.randomUUID()}`,
  };
  const terms: Record<string, SignedTerms> = {};

  const subscribe = async (
    subscriptionId: string,
    templateId: string,
    parameters: object,
    periods: number,
    periodSeconds = PERIOD_S,
  ) => {
    const { templates } = await buyer.client.get<{
      templates: { id: string; seller: string; hash: string; price: string }[];
    }>('/templates');
    const template = templates.find((t) => t.id === templateId)!;
    const { termsSignature, ...body } = buyer.client.signed('subscription', {
      subscriptionId,
      queries: [{ templateId, sellerId: template.seller, templateHash: template.hash, parameters }],
      pricePerPeriod: template.price,
      periodSeconds,
      periods,
      buyerPublicKey: buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
    });
    // The terms as the API hands them to the workflow: what settlement checks a refund against.
    terms[subscriptionId] = {
      kind: 'subscription',
      signer: buyer.id,
      publicKey: buyer.client.publicKey,
      body: termsBodyOf(body),
      signature: termsSignature,
    };
    await buyer.client.post('/subscriptions', { ...body, termsSignature });
  };
  const status = (id: string, as: Pick<PartyIdentity, 'client'> = buyer) =>
    as.client.get<SubscriptionStatus>(`/subscriptions/${id}`);
  const handle = (id: string) => test.temporal.workflow.getHandle(subscriptionWorkflowId(id));
  /** The local ledger's own entries of one kind for one escrow: what a user would count. */
  const ledgerEntries = async (kind: string, escrow: string) =>
    (await readFile(test.deployment.ledger.path, 'utf8'))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { kind: string; dealId?: string })
      .filter((entry) => entry.kind === kind && entry.dealId === escrow);

  beforeAll(async () => {
    test = await startTestDeployment(
      'pdisp',
      async (seller) => {
        await seller.publish(slowTemplate(await seller.publishDemoTemplate()));
      },
      {
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
        env: { TUSK_MIN_PERIOD_MS: '1000', TUSK_SUBSCRIPTION_GRACE_MS: String(GRACE_MS) },
      },
    );
    buyer = { ...test.deployment.buyer };
    operator = await startOperatorWorker(test, 'operator-period-dispute');
    const { templates } = await buyer.client.get<{ templates: { id: string }[] }>('/templates');
    const demo = templates.find((t) => t.id !== 'visits-repeated')!;
    await subscribe(ids.disputed, demo.id, { min_age: 30, max_age: 50, sex: 'F' }, 2);
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, Object.values(ids).map(subscriptionWorkflowId));
    await operator?.close();
    await test?.close();
  });

  it("a conceded period is refunded on the seller's consent; forged, misbound or misdirected ones move nothing", async () => {
    const id = ids.disputed;
    const seller = sellerIdentity(test);
    const held = await waitFor(
      () => status(id),
      (s) => s.held?.period === 1,
    );
    const [first, second] = [1, 2].map((n) => periodEscrowId(id, n, termsNonceOf(terms[id])));
    expect(held.held!.escrowId).toBe(first);
    const scope = held.scope!;
    expect(termsHashOf(terms[id]!)).toBe(scope.subject.termsHash);
    const dispute = (
      period: number,
      escrowId: string,
    ): DisputePeriodRequest['signed']['statement']['content'] => ({
      period,
      escrowId,
      reason: 'the cohort came back empty',
    });
    const send = (signed: DisputePeriodRequest['signed']) =>
      handle(id).executeUpdate(disputePeriodUpdate, { args: [{ signed }] });

    // As the operator, straight on Temporal: the buyer's name under a key the operator made up.
    const forged = signDecision(generateEd25519KeyPair().privateKeyPem, {
      ...scope,
      action: 'dispute_opening',
      principal: buyer.id,
      content: dispute(1, first!),
      notAfter: Date.now() + 600_000,
    });
    expect(await updateRefusal(send(forged))).toMatch(/signature|signed/i);
    // The buyer's genuine dispute of period 2 (not delivered), and one of period 1 naming period 2's escrow.
    expect(
      await updateRefusal(send(signedBy(test, buyer.id, scope, 'dispute_opening', dispute(2, second!)))),
    ).toMatch(/period 2 of .* is not awaiting its payout/);
    expect(
      await updateRefusal(send(signedBy(test, buyer.id, scope, 'dispute_opening', dispute(1, second!)))),
    ).toMatch(/signed over/);
    // The seller disputing in the buyer's place.
    const bySeller = signDecision(test.seller.keys.privateKeyPem, {
      ...scope,
      action: 'dispute_opening',
      principal: test.seller.id,
      content: dispute(1, first!),
      notAfter: Date.now() + 600_000,
    });
    expect(await updateRefusal(send(bySeller))).toMatch(/./);
    // Settlement takes none of them for a refund of the delivered period: only the seller's consent.
    const before = await ledgerBalances(test, buyer.id, test.seller.id);
    const refundWith = (escrow: string, consent: SignedDecision) =>
      operator!.moneyBack({
        action: 'refundEscrow',
        input: { dealId: escrow, buyerId: buyer.id, amount: PRICE, terms: terms[id]!, consent },
      });
    const genuineDispute = signedBy(test, buyer.id, scope, 'dispute_opening', dispute(1, first!));
    expect(await refundWith(first!, forged)).toMatch(/^RefundUnsigned: /);
    expect(await refundWith(first!, genuineDispute)).toMatch(/^RefundUnsigned: /);
    expect((await status(id)).disputes ?? []).toEqual([]);
    expect(await ledgerBalances(test, buyer.id, test.seller.id)).toEqual(before);

    // The subscriber disputes period 1 through the API; both parties see it, an auditor without its reason.
    const disputed = await disputeSubscriptionPeriod<SubscriptionStatus>(
      buyer.client,
      id,
      1,
      'the cohort came back empty',
    );
    expect(disputed.disputes).toMatchObject([
      { period: 1, escrowId: first, stage: 'open', reason: 'the cohort came back empty' },
    ]);
    expect((await status(id, seller)).disputes).toMatchObject([{ period: 1, stage: 'open' }]);
    const audited = await status(id, party(test, 'auditor'));
    expect(audited.disputes).toMatchObject([{ period: 1, stage: 'open' }]);
    expect(audited.disputes![0]).not.toHaveProperty('reason');
    // A second dispute of the same period is refused.
    await expect(disputeSubscriptionPeriod(buyer.client, id, 1, 'again')).rejects.toMatchObject({
      status: 409,
    });

    // The seller concedes period 1 through the API: refunded once, at the period's settlement.
    const conceded = await concedeSubscriptionPeriod<SubscriptionStatus>(seller.client, id, 1);
    expect(conceded.disputes).toMatchObject([{ period: 1, stage: 'conceded' }]);
    await waitFor(
      () => ledgerEntries('refund', first!),
      (entries) => entries.length === 1,
    );
    expect(await ledgerEntries('release', first!)).toEqual([]);

    // Period 2: disputed, then the seller's consent to refund period 1 is sent as a concession of period 2.
    const secondHeld = await waitFor(
      () => status(id),
      (s) => s.held?.period === 2,
    );
    expect(secondHeld.held!.escrowId).toBe(second);
    await disputeSubscriptionPeriod(buyer.client, id, 2, 'late again');
    const scope2 = (await status(id)).scope!;
    const consentToFirst = signDecision(test.seller.keys.privateKeyPem, {
      ...scope2,
      action: 'refund_consent',
      principal: test.seller.id,
      content: { escrowId: first! },
      notAfter: Date.now() + 600_000,
    });
    const concede2 = handle(id).executeUpdate(concedePeriodUpdate, {
      args: [{ period: 2, signed: consentToFirst }],
    });
    expect(await updateRefusal(concede2)).toMatch(/signed over/);
    expect(await refundWith(second!, consentToFirst)).toMatch(
      /^RefundUnsigned: .*does not give this escrow back/,
    );
    expect(await ledgerEntries('refund', second!)).toEqual([]);

    // Not conceded by its deadline, period 2's dispute lapses and the seller is paid for it, once.
    const lapsed = await waitFor(
      () => status(id),
      (s) => s.disputes?.find((d) => d.period === 2)?.stage === 'lapsed',
    );
    expect(lapsed.disputes!.find((d) => d.period === 2)!.resolvedAt).toBeGreaterThanOrEqual(
      lapsed.disputes!.find((d) => d.period === 2)!.until,
    );
    await waitFor(
      () => ledgerEntries('release', second!),
      (entries) => entries.length === 1,
    );
    expect(await ledgerEntries('refund', second!)).toEqual([]);
    await handle(id).result();
    expect(await ledgerEntries('release', first!)).toEqual([]);
    expect(await ledgerEntries('refund', first!)).toHaveLength(1);
  });

  it('a period whose released answer the workflow lost is recovered from the perimeter and paid once', async () => {
    const id = ids.stranded;
    // Long enough for the failed run's retries to end before the period does, on a busy machine.
    await subscribe(id, 'visits-repeated', { repeat: 40, min_age: 0 }, 1, 60);
    const escrow = periodEscrowId(id, 1, termsNonceOf(terms[id]));
    // The blob store fails while the period's query runs: the perimeter releases the answer (its
    // privacy ledger commits it), then cannot store the sealed result, and every retry fails, so the
    // workflow never gets the answer. Done as a fault of the store, which even root cannot write to.
    const shards = join(test.home, 'blobs', 'sha256');
    await stat(shards);
    await waitFor(
      async () => (await handle(id).describe()).raw.pendingActivities ?? [],
      (activities) =>
        activities.some((a) => a.activityType?.name === 'runApprovedQuery' && a.state === STARTED),
      60_000,
    );
    // The run has read the buyer's key (its first step); its query takes seconds more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rename(shards, `${shards}.away`);
    await writeFile(shards, 'not a directory');
    let lost: SubscriptionStatus;
    try {
      lost = await waitFor(
        () => status(id),
        (s) => s.held?.period === 1,
      );
    } finally {
      await rm(shards);
      await rename(`${shards}.away`, shards);
    }
    expect(lost.deliveries[0]!.results[0]).toHaveProperty('problem');
    expect(lost.held?.period).toBe(1);
    expect(await ledgerEntries('release', escrow)).toEqual([]);

    // At the period's end the workflow settles with the perimeter: it will not sign a withdrawal of a
    // run it released, so the stored answer is asked for again, delivered, and the seller paid.
    const settled = await waitFor(
      async () => ({
        released: await ledgerEntries('release', escrow),
        refunded: await ledgerEntries('refund', escrow),
        attention: (await status(id)).attention ?? [],
      }),
      ({ released, refunded, attention }) => released.length + refunded.length + attention.length > 0,
      120_000,
    );
    expect(settled).toMatchObject({ released: [{ kind: 'release' }], refunded: [], attention: [] });
    const recovered = (await status(id)).deliveries.find((d) => d.period === 1)!;
    expect(recovered.results[0]).toHaveProperty('resultRef');
    const final = await handle(id).result();
    expect(final.stage).toBe('completed');
    // One lock, one payout, no refund of the period.
    expect(await ledgerEntries('lock', escrow)).toHaveLength(1);
    expect(await ledgerEntries('release', escrow)).toHaveLength(1);
    expect(await ledgerEntries('refund', escrow)).toEqual([]);
  });
});
