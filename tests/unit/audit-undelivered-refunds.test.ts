import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditorKeys } from '../../audit/verify/auditor-keys';
import { checkUndeliveredRefunds } from '../../audit/verify/refusal-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { dealEscrowId, periodEscrowId } from '../../lib/ids/escrow-ids';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { EXPIRY_CLOCK_MARGIN_MS, signRefusalStatement } from '../../lib/refusal-statement';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const NOT_AFTER = '2027-01-01T00:00:00Z';
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
    notAfter: NOT_AFTER,
    nonce: NONCE,
    acceptanceWindowSeconds: 3600,
    resultKeyRef: HASH,
    compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
  },
  buyer.privateKeyPem,
);
const escrow = dealEscrowId('d1', NONCE);
const keys: AuditorKeys = { parties: {}, perimeters: { 'seller-a': perimeter.publicKey } };

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** What a history is of: a deal by default, or a subscription's period. */
interface Of {
  terms: typeof terms;
  escrow: string;
  subject: Record<string, unknown>;
  workflowId: string;
  workflowType: string;
}
const aDeal: Of = {
  terms,
  escrow,
  subject: { kind: 'deal', dealId: 'd1' },
  workflowId: 'd1',
  workflowType: 'cohortQueryDeal',
};

/** A deal's history: started with the buyer's terms, then one refund completed at `at`. */
function refundedBundle(refund: Record<string, unknown>, at: number, of: Of = aDeal): SignedBundle {
  const events = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: of.workflowType },
        input: { payloads: [jsonPayload({ dealId: 'd1', terms: of.terms })] },
      },
    },
    {
      eventId: '2',
      activityTaskScheduledEventAttributes: {
        activityType: { name: 'refundEscrow' },
        taskQueue: { name: 'settlement' },
        input: { payloads: [jsonPayload({ dealId: of.escrow, buyerId: 'acme', amount: '1000', ...refund })] },
      },
    },
    {
      eventId: '3',
      eventTime: new Date(at).toISOString(),
      activityTaskCompletedEventAttributes: { scheduledEventId: '2' },
    },
  ];
  return {
    body: {
      subject: of.subject,
      runs: [{ workflowId: of.workflowId, runId: 'r1', workflowType: of.workflowType, history: { events } }],
    },
  } as unknown as SignedBundle;
}

const refusal = (key = perimeter, dealId = 'd1') =>
  signRefusalStatement(
    {
      type: 'tusk.refusal/v1',
      sellerId: 'seller-a',
      dealId,
      termsHash: termsHashOf(terms),
      code: 'TermsExpired',
    },
    key,
  );
const BEFORE = Date.parse(NOT_AFTER) - 60_000;

describe("audit: an undelivered deal's refund needs the perimeter's signed refusal or the signed notAfter passed", () => {
  const statusOf = (refund: Record<string, unknown>, at = BEFORE) =>
    checkUndeliveredRefunds(refundedBundle(refund, at), keys).map((c) => `${c.status}: ${c.detail}`);

  it('names a refund before notAfter with no refusal', () => {
    expect(statusOf({})).toEqual([
      expect.stringMatching(/^finding: .* refunded before the buyer's notAfter with no refusal/),
    ]);
  });

  it("names a refund on a refusal another key signed, or of another deal; passes the perimeter's own", () => {
    expect(statusOf({ refusal: refusal(stranger) })).toEqual([
      expect.stringMatching(/^finding: .*not seller-a's perimeter refusing this deal/),
    ]);
    expect(statusOf({ refusal: refusal(perimeter, 'd2') })).toEqual([expect.stringMatching(/^finding/)]);
    expect(statusOf({ refusal: refusal() })).toEqual([expect.stringMatching(/^ok: 1 refunds/)]);
  });

  it('passes a refund past the signed notAfter', () => {
    expect(statusOf({}, Date.parse(NOT_AFTER) + EXPIRY_CLOCK_MARGIN_MS + 1)).toEqual([
      expect.stringMatching(/^ok/),
    ]);
  });
});

describe("audit: a subscription period's refund needs its perimeter's refusal of every run of it", () => {
  const query = { templateId: 't', sellerId: 'seller-a', templateHash: HASH, parameters: {} };
  const subTerms = signTerms(
    'subscription',
    'acme',
    {
      subscriptionId: 's1',
      queries: [query, { ...query, parameters: { min_age: 20 } }],
      pricePerPeriod: '1000',
      periodSeconds: 3600,
      periods: 3,
      feeBps: 250,
      notAfter: NOT_AFTER,
      nonce: NONCE,
      resultKeyRef: HASH,
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
    },
    buyer.privateKeyPem,
  );
  const period: Of = {
    terms: subTerms,
    escrow: periodEscrowId('s1', 1, NONCE),
    subject: { kind: 'subscription_period', subscriptionId: 's1', period: 1 },
    workflowId: subscriptionWorkflowId('s1'),
    workflowType: 'subscription',
  };
  const refusalOf = (runId: string, key = perimeter) =>
    signRefusalStatement(
      {
        type: 'tusk.refusal/v1',
        sellerId: 'seller-a',
        dealId: runId,
        termsHash: termsHashOf(subTerms),
        code: 'Withdrawn',
      },
      key,
    );
  const statusOf = (refusals?: unknown[]) =>
    checkUndeliveredRefunds(
      refundedBundle(refusals ? { refusal: refusals } : {}, Date.parse(NOT_AFTER) + 86_400_000, period),
      keys,
    ).map((c) => `${c.status}: ${c.detail}`);

  it('names a refund, even long past notAfter, without a refusal of each run; passes one with them', () => {
    expect(statusOf()).toEqual([expect.stringMatching(/^finding: .*refunded with no refusal/)]);
    expect(statusOf([refusalOf('s1/period-1/query-0')])).toEqual([
      expect.stringMatching(/^finding: .*refusing each of its 2 runs/),
    ]);
    expect(statusOf([refusalOf('s1/period-1/query-0'), refusalOf('s1/period-1/query-1', stranger)])).toEqual([
      expect.stringMatching(/^finding/),
    ]);
    expect(statusOf([refusalOf('s1/period-1/query-1'), refusalOf('s1/period-1/query-0')])).toEqual([
      expect.stringMatching(/^ok: 1 refunds/),
    ]);
  });
});
