import { describe, expect, it } from 'vitest';
import { dealEscrowId, disputeEscrowId } from '../../lib/ids/escrow-ids';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditorKeys } from '../../audit/verify/auditor-keys';
import { checkLoserConsent } from '../../audit/verify/loser-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const c1 = generateEd25519KeyPair();
const c2 = generateEd25519KeyPair();
const seller = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const terms = signTerms(
  'cohort_query',
  'acme',
  {
    dealId: 'd1',
    templateId: 't',
    sellerId: 'seller-a',
    templateHash: HASH,
    parameters: {},
    price: '1000',
    feeBps: 250,
    notAfter: '2027-01-01T00:00:00Z',
    nonce: NONCE,
    acceptanceWindowSeconds: 3600,
    resultKeyRef: HASH,
    compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
  },
  buyer.privateKeyPem,
);
const escrow = dealEscrowId('d1', NONCE);
const keys: AuditorKeys = {
  parties: {
    'c-1': { keys: [c1.publicKey], role: 'compliance', from: 'pinned' },
    'c-2': { keys: [c2.publicKey], role: 'compliance', from: 'pinned' },
    acme: { keys: [buyer.publicKey], role: 'buyer', from: 'pinned' },
    'seller-a': { keys: [seller.publicKey], role: 'seller', from: 'pinned' },
  },
  perimeters: {},
};

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A deal's history: started with the buyer's terms, then each activity scheduled and completed. */
function dealBundle(calls: [string, Record<string, unknown>][]): SignedBundle {
  const events: Record<string, unknown>[] = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cohortQueryDeal' },
        input: { payloads: [jsonPayload({ dealId: 'd1', terms })] },
      },
    },
  ];
  calls.forEach(([activity, args], i) => {
    const id = String(2 * i + 2);
    events.push(
      {
        eventId: id,
        activityTaskScheduledEventAttributes: {
          activityType: { name: activity },
          taskQueue: { name: 'settlement' },
          input: { payloads: [jsonPayload(args)] },
        },
      },
      { eventId: String(2 * i + 3), activityTaskCompletedEventAttributes: { scheduledEventId: id } },
    );
  });
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [{ workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events } }],
    },
  } as unknown as SignedBundle;
}

const vote = (principal: string, key: string, outcome: unknown) =>
  signDecision(key, {
    workflowId: 'd1:dispute',
    runId: 'dispute-run',
    subject: { id: 'd1', termsHash: termsHashOf(terms) },
    action: 'dispute_outcome',
    principal,
    content: { outcome },
    notAfter: 1,
  });
const delivery: [string, Record<string, unknown>] = ['recordDelivery', { dealId: escrow }];
const refund = (votes?: unknown[]): [string, Record<string, unknown>] => [
  'refundEscrow',
  { dealId: escrow, buyerId: 'acme', amount: '1000', ...(votes ? { votes } : {}) },
];
const split = (sellerAmount: string, votes?: unknown[]): [string, Record<string, unknown>] => [
  'splitEscrow',
  {
    dealId: escrow,
    splitId: disputeEscrowId('d1', NONCE),
    sellerId: 'seller-a',
    buyerId: 'acme',
    amount: '1000',
    sellerAmount,
    feeBps: 250,
    ...(votes ? { votes } : {}),
  },
];

describe('audit: money given back names the refund or split the losing side never decided', () => {
  const statusOf = (calls: [string, Record<string, unknown>][]) =>
    checkLoserConsent(dealBundle(calls), keys).map((c) => `${c.status}: ${c.detail}`);

  it('passes over a refund of a deal never delivered', () => {
    expect(statusOf([refund()])).toEqual(['skipped: no delivered deal was refunded or split']);
  });

  it('names a refund after delivery without two compliance votes', () => {
    expect(statusOf([delivery, refund()])).toEqual([
      expect.stringMatching(/^finding: .* refunded after delivery .*0 of the 2/),
    ]);
    const forged = vote('c-2', buyer.privateKeyPem, { kind: 'refund' });
    expect(statusOf([delivery, refund([vote('c-1', c1.privateKeyPem, { kind: 'refund' }), forged])])).toEqual(
      [expect.stringMatching(/^finding: .*1 of the 2 .*c-2's vote is not signed by its key/)],
    );
    const both = [
      vote('c-1', c1.privateKeyPem, { kind: 'refund' }),
      vote('c-2', c2.privateKeyPem, { kind: 'refund' }),
    ];
    expect(statusOf([delivery, refund(both)])).toEqual([expect.stringMatching(/^ok: 1 refunds/)]);
  });

  it("passes a refund after delivery on the seller's own signed consent, not on one the buyer signs", () => {
    const consent = (key: string) =>
      signDecision(key, {
        workflowId: 'd1',
        runId: 'r1',
        subject: { id: 'd1', termsHash: termsHashOf(terms) },
        action: 'refund_consent',
        principal: 'seller-a',
        content: { escrowId: escrow },
        notAfter: 1,
      });
    const refundWith = (key: string): [string, Record<string, unknown>] => [
      'refundEscrow',
      { ...refund()[1], consent: consent(key) },
    ];
    expect(statusOf([delivery, refundWith(seller.privateKeyPem)])).toEqual([expect.stringMatching(/^ok/)]);
    expect(statusOf([delivery, refundWith(buyer.privateKeyPem)])).toEqual([
      expect.stringMatching(/^finding: .*refunded after delivery/),
    ]);
  });

  it('names a split not voted to the unit', () => {
    const sixty = { kind: 'split', sellerBps: 6000 };
    const votes = [vote('c-1', c1.privateKeyPem, sixty), vote('c-2', c2.privateKeyPem, sixty)];
    expect(statusOf([delivery, split('600')])).toEqual([
      expect.stringMatching(/^finding: .*no compliance vote for a split/),
    ]);
    expect(statusOf([delivery, split('900', votes)])).toEqual([
      expect.stringMatching(/^finding: .*split 6000 bps to the seller, not the 900 paid/),
    ]);
    expect(statusOf([delivery, split('600', votes)])).toEqual([expect.stringMatching(/^ok/)]);
  });
});
