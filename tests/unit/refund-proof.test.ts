import { describe, expect, it } from 'vitest';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { EXPIRY_CLOCK_MARGIN_MS, requireUndeliveredRefund } from '../../activities/settlement/refund-proof';
import { dealEscrowId, periodEscrowId, shareEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { signRefusalStatement, type RefusalStatementBody } from '../../lib/refusal-statement';
import { signReleaseStatement } from '../../lib/release-statement';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const perimeterA = generateEd25519KeyPair();
const perimeterB = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const NOT_AFTER = '2026-12-08T10:00:00Z';
const BEFORE = Date.parse(NOT_AFTER) - 60_000;

const dealTerms = (dealId: string, price = '1000') =>
  signTerms(
    'cohort_query',
    'acme',
    {
      dealId,
      templateId: 't',
      sellerId: 'seller-a',
      templateHash: HASH,
      parameters: {},
      price,
      feeBps: 250,
      notAfter: NOT_AFTER,
      nonce: NONCE,
      acceptanceWindowSeconds: 3600,
      resultKeyRef: HASH,
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
    },
    buyer.privateKeyPem,
  );
const terms = dealTerms('d1');
const escrow = dealEscrowId('d1', NONCE);

const multiTerms = signTerms(
  'multi_seller',
  'acme',
  {
    dealId: 'm1',
    templateId: 't',
    sellers: [
      { sellerId: 'seller-a', templateHash: HASH, price: '600' },
      { sellerId: 'seller-b', templateHash: HASH, price: '400' },
    ],
    parameters: {},
    price: '1000',
    feeBps: 250,
    notAfter: NOT_AFTER,
    nonce: NONCE,
    acceptanceWindowSeconds: 3600,
    heKeyRef: HASH,
    compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
  },
  buyer.privateKeyPem,
);

/** The log as settlement reads it: each seller's perimeter key, and no release logged. */
const keys: RegisteredKeys & ReleaseLog = {
  loggedReleases: async () => [],
  currentKey: async (partyId, purpose = 'party') => {
    if (purpose !== 'perimeter') return undefined;
    if (partyId === 'seller-a') return { partyId, role: 'seller', publicKey: perimeterA.publicKey } as never;
    if (partyId === 'seller-b') return { partyId, role: 'seller', publicKey: perimeterB.publicKey } as never;
    return undefined;
  },
};

const refusalBody = (over: Partial<RefusalStatementBody> = {}): RefusalStatementBody => ({
  type: 'tusk.refusal/v1',
  sellerId: 'seller-a',
  dealId: 'd1',
  termsHash: termsHashOf(terms),
  code: 'BudgetExhausted',
  ...over,
});

async function outcome(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
    throw error;
  }
  return 'refunded';
}

const refund = (refusal: unknown, now = BEFORE, dealId = escrow, of = terms) =>
  outcome(() =>
    requireUndeliveredRefund(
      { dealId, terms: of, ...(refusal === undefined ? {} : { refusal }) },
      { keys, now },
    ),
  );

describe("an undelivered deal is refunded only on its perimeter's signed refusal, or past the signed notAfter", () => {
  it('refuses a refund with no refusal before the buyer signed notAfter has passed', async () => {
    expect(await refund(undefined)).toMatch(/^RefundUnproven: settlement has no record of .* delivery/);
    expect(await refund(undefined, Date.parse(NOT_AFTER) + EXPIRY_CLOCK_MARGIN_MS)).toMatch(
      /^RefundUnproven/,
    );
  });

  it('refunds on the seller perimeter refusal of this deal and these terms', async () => {
    expect(await refund(signRefusalStatement(refusalBody(), perimeterA))).toBe('refunded');
  });

  it('refuses forged refusals: another key, another deal, other terms, another seller, a tampered body', async () => {
    const expectRefused = async (refusal: unknown, why: RegExp) => expect(await refund(refusal)).toMatch(why);
    await expectRefused(
      signRefusalStatement(refusalBody(), stranger),
      /not seller-a's registered perimeter key/,
    );
    await expectRefused(
      signRefusalStatement(refusalBody(), perimeterB),
      /not seller-a's registered perimeter key/,
    );
    await expectRefused(signRefusalStatement(refusalBody({ dealId: 'd2' }), perimeterA), /refuses deal d2/);
    await expectRefused(
      signRefusalStatement(refusalBody({ termsHash: termsHashOf(dealTerms('d1', '999')) }), perimeterA),
      /other terms/,
    );
    await expectRefused(
      signRefusalStatement(refusalBody({ sellerId: 'seller-b' }), perimeterA),
      /seller-b's refusal/,
    );
    const genuine = signRefusalStatement(refusalBody(), perimeterA);
    await expectRefused(
      { ...genuine, body: { ...genuine.body, code: 'TermsExpired' } },
      /signature does not verify/,
    );
  });

  it("does not take a release statement's signature as a refusal", async () => {
    const release = signReleaseStatement(
      {
        type: 'tusk.release/v1',
        kind: 'sealed_table',
        sellerId: 'seller-a',
        dealId: 'd1',
        termsHash: termsHashOf(terms),
        commitment: HASH,
        epsilonCharged: 1,
        deltaCharged: 0,
        datasetPolicy: { version: 1, hash: HASH },
      },
      perimeterA,
    );
    expect(await refund(release)).toMatch(/^RefundUnproven: .*no well-formed refusal statement/);
    const spliced = { ...signRefusalStatement(refusalBody(), perimeterA), signature: release.signature };
    expect(await refund(spliced)).toMatch(/signature does not verify/);
  });

  it('refunds once the signed notAfter has passed on its own clock, past the clock margin', async () => {
    expect(await refund(undefined, Date.parse(NOT_AFTER) + EXPIRY_CLOCK_MARGIN_MS + 1)).toBe('refunded');
  });

  it("refunds a multi-seller share only on its own seller's refusal", async () => {
    const shareA = shareEscrowId('m1', 'seller-a', NONCE);
    const shareB = shareEscrowId('m1', 'seller-b', NONCE);
    const byA = signRefusalStatement(
      refusalBody({ dealId: 'm1', termsHash: termsHashOf(multiTerms) }),
      perimeterA,
    );
    expect(await refund(byA, BEFORE, shareA, multiTerms)).toBe('refunded');
    expect(await refund(byA, BEFORE, shareB, multiTerms)).toMatch(
      /^RefundUnproven: .*not seller-b's registered perimeter key.*seller-a's refusal/,
    );
    expect(await refund(undefined, BEFORE, shareB, multiTerms)).toMatch(/^RefundUnproven/);
  });

  it('refunds a subscription period only on its perimeter refusing every run of it, at any time', async () => {
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
    const period1 = periodEscrowId('s1', 1, NONCE);
    const refusalOf = (dealId: string, key = perimeterA) =>
      signRefusalStatement(refusalBody({ dealId, termsHash: termsHashOf(subTerms) }), key);
    const [run0, run1] = [refusalOf('s1/period-1/query-0'), refusalOf('s1/period-1/query-1')];
    const longAfter = Date.parse(NOT_AFTER) + 30 * 24 * 3600_000;
    expect(await refund(undefined, longAfter, period1, subTerms)).toMatch(
      /^RefundUnproven: settlement has no proof that period 1 of s1/,
    );
    expect(await refund([run0], longAfter, period1, subTerms)).toMatch(
      /^RefundUnproven: .*run s1\/period-1\/query-1/,
    );
    expect(await refund([run0, refusalOf('s1/period-2/query-1')], BEFORE, period1, subTerms)).toMatch(
      /^RefundUnproven/,
    );
    expect(
      await refund([run0, refusalOf('s1/period-1/query-1', stranger)], BEFORE, period1, subTerms),
    ).toMatch(/^RefundUnproven: .*not seller-a's registered perimeter key/);
    expect(await refund([run1, run0], BEFORE, period1, subTerms)).toBe('refunded');
  });
});
