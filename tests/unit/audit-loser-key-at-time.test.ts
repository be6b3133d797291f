import { describe, expect, it } from 'vitest';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditorKeys, PartyKeys } from '../../audit/verify/auditor-keys';
import { checkLoserConsent } from '../../audit/verify/loser-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDecision, type SignedDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';
import type { KeyPeriod } from '../../lib/transparency/key-registration';

const buyer = generateEd25519KeyPair();
const c1Old = generateEd25519KeyPair();
const c1New = generateEd25519KeyPair();
const c2 = generateEd25519KeyPair();
const sellerOld = generateEd25519KeyPair();
const sellerNew = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const ROTATED_AT = Date.parse('2026-06-01T00:00:00Z');
const REFUNDED_AT = ROTATED_AT + 60_000;
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

/** What the log proves for a party: its old key until the rotation, the new one since. */
function rotated(partyId: string, role: string, oldKey: string, newKey: string): PartyKeys {
  const registration = (publicKey: string, sequence: number, registeredAt: number) =>
    ({ partyId, purpose: 'party', role, publicKey, sequence, registeredAt }) as never;
  return {
    keys: [oldKey, newKey],
    role: role as never,
    from: 'the transparency log',
    periods: [
      {
        registration: registration(oldKey, 0, 0),
        fromLeaf: 1,
        untilLeaf: 9,
        fromTime: 0,
        untilTime: ROTATED_AT,
        current: false,
      },
      { registration: registration(newKey, 1, ROTATED_AT), fromLeaf: 9, fromTime: ROTATED_AT, current: true },
    ] satisfies KeyPeriod[],
  };
}
const keys: AuditorKeys = {
  parties: {
    'c-1': rotated('c-1', 'compliance', c1Old.publicKey, c1New.publicKey),
    'c-2': { keys: [c2.publicKey], role: 'compliance', from: 'pinned' },
    'seller-a': rotated('seller-a', 'seller', sellerOld.publicKey, sellerNew.publicKey),
  },
  perimeters: {},
};

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});
const iso = (ms: number) => new Date(ms).toISOString();

/** The deal's run (its delivery and a refund completed after the rotation), and its dispute's run. */
function bundle(
  refund: Record<string, unknown>,
  counted: { update: string; signed: SignedDecision; at: number }[],
) {
  const settlement = (id: number, activity: string, args: unknown) => [
    {
      eventId: String(id),
      activityTaskScheduledEventAttributes: {
        activityType: { name: activity },
        taskQueue: { name: 'settlement' },
        input: { payloads: [jsonPayload(args)] },
      },
    },
    {
      eventId: String(id + 1),
      eventTime: iso(REFUNDED_AT),
      activityTaskCompletedEventAttributes: { scheduledEventId: String(id) },
    },
  ];
  const deal = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cohortQueryDeal' },
        input: { payloads: [jsonPayload({ dealId: 'd1', terms })] },
      },
    },
    ...settlement(2, 'recordDelivery', { dealId: escrow }),
    ...settlement(4, 'refundEscrow', { dealId: escrow, buyerId: 'acme', amount: '1000', ...refund }),
  ];
  const dispute = counted.flatMap(({ update, signed, at }, i) => [
    {
      eventId: String(2 * i + 1),
      eventTime: iso(at),
      workflowExecutionUpdateAcceptedEventAttributes: {
        acceptedRequest: {
          meta: { updateId: `u${i}` },
          input: { name: update, args: { payloads: [jsonPayload({ signed })] } },
        },
      },
    },
    {
      eventId: String(2 * i + 2),
      workflowExecutionUpdateCompletedEventAttributes: {
        meta: { updateId: `u${i}` },
        outcome: { success: {} },
      },
    },
  ]);
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [
        { workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events: deal } },
        { workflowId: 'd1:dispute', runId: 'r2', workflowType: 'dispute', history: { events: dispute } },
      ],
    },
  } as unknown as SignedBundle;
}

const statement = { runId: 'r2', subject: { id: 'd1', termsHash: termsHashOf(terms) }, notAfter: 1 };
const vote = (principal: string, key: string) =>
  signDecision(key, {
    ...statement,
    workflowId: 'd1:dispute',
    action: 'dispute_outcome',
    principal,
    content: { outcome: { kind: 'refund' } },
  });
const consent = (key: string) =>
  signDecision(key, {
    ...statement,
    workflowId: 'd1:dispute',
    action: 'refund_consent',
    principal: 'seller-a',
    content: { escrowId: escrow },
  });
const statusOf = (b: SignedBundle) => checkLoserConsent(b, keys).map((c) => `${c.status}: ${c.detail}`);

describe('audit: votes and consent are checked under the key valid when they took effect', () => {
  it('passes votes the dispute counted before a rotation, signed by the key valid then', () => {
    const votes = [vote('c-1', c1Old.privateKeyPem), vote('c-2', c2.privateKeyPem)];
    const counted = votes.map((signed) => ({
      update: 'approveDisputeOutcome',
      signed,
      at: ROTATED_AT - 1000,
    }));
    expect(statusOf(bundle({ votes }, counted))).toEqual([expect.stringMatching(/^ok: 1 refunds/)]);
  });

  it('names a vote the dispute counted after the rotation but signed by the retired key', () => {
    const votes = [vote('c-1', c1Old.privateKeyPem), vote('c-2', c2.privateKeyPem)];
    const counted = votes.map((signed) => ({
      update: 'approveDisputeOutcome',
      signed,
      at: ROTATED_AT + 1000,
    }));
    expect(statusOf(bundle({ votes }, counted))).toEqual([
      expect.stringMatching(
        /^finding: .*1 of the 2 .*c-1's vote: signed with key .* retired at 2026-06-01.*a retired key/,
      ),
    ]);
    // The new key's vote, counted after the rotation, counts.
    const renewed = [vote('c-1', c1New.privateKeyPem), vote('c-2', c2.privateKeyPem)];
    const recounted = renewed.map((signed) => ({
      update: 'approveDisputeOutcome',
      signed,
      at: ROTATED_AT + 1000,
    }));
    expect(statusOf(bundle({ votes: renewed }, recounted))).toEqual([expect.stringMatching(/^ok/)]);
  });

  it('dates a vote no run counted by the refund that carried it', () => {
    const votes = [vote('c-1', c1Old.privateKeyPem), vote('c-2', c2.privateKeyPem)];
    expect(statusOf(bundle({ votes }, []))).toEqual([
      expect.stringMatching(/^finding: .*c-1's vote: .*a retired key/),
    ]);
  });

  it("passes the seller's consent conceded before it rotated its key, names one conceded after with the old key", () => {
    const before = consent(sellerOld.privateKeyPem);
    expect(
      statusOf(
        bundle({ consent: before }, [{ update: 'concedeDispute', signed: before, at: ROTATED_AT - 1 }]),
      ),
    ).toEqual([expect.stringMatching(/^ok/)]);
    expect(
      statusOf(bundle({ consent: before }, [{ update: 'concedeDispute', signed: before, at: ROTATED_AT }])),
    ).toEqual([expect.stringMatching(/^finding: .*refunded after delivery/)]);
  });
});
