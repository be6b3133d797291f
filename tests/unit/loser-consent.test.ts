import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRecords } from '../../activities/settlement/acceptance';
import {
  paidPartKey,
  requireRefundConsent,
  requireRemainderDue,
  requireSplitVotes,
} from '../../activities/settlement/loser-consent';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { EXPIRY_CLOCK_MARGIN_MS } from '../../activities/settlement/refund-proof';
import { dealEscrowId, grantEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { ExtensionLog, RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const sponsor = generateEd25519KeyPair();
const compliance = { c1: generateEd25519KeyPair(), c2: generateEd25519KeyPair() };
const stranger = generateEd25519KeyPair();
const seller = generateEd25519KeyPair();
const grantee = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';

const dealTerms = (dealId: string) =>
  signTerms(
    'cohort_query',
    'acme',
    {
      dealId,
      templateId: 't',
      sellerId: 'seller-a',
      templateHash: HASH,
      parameters: {},
      price: '1000',
      feeBps: 250,
      notAfter: '2026-12-08T10:00:00Z',
      nonce: NONCE,
      acceptanceWindowSeconds: 3600,
      resultKeyRef: HASH,
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
    },
    buyer.privateKeyPem,
  );
const terms = dealTerms('d1');
const otherTerms = dealTerms('d2');
const escrow = dealEscrowId('d1', NONCE);

/** The log as settlement reads it: the buyer, the sponsor, two compliance principals. */
const keys: RegisteredKeys & ReleaseLog & ExtensionLog = {
  loggedReleases: async () => [],
  loggedExtensions: async () => [],
  currentKey: async (partyId, purpose = 'party') => {
    if (purpose !== 'party') return undefined;
    if (partyId === 'acme') return { partyId, role: 'buyer', publicKey: buyer.publicKey } as never;
    if (partyId === 'sp') return { partyId, role: 'sponsor', publicKey: sponsor.publicKey } as never;
    if (partyId === 'c1' || partyId === 'c2')
      return { partyId, role: 'compliance', publicKey: compliance[partyId].publicKey } as never;
    if (partyId === 'seller-a') return { partyId, role: 'seller', publicKey: seller.publicKey } as never;
    if (partyId === 'lab') return { partyId, role: 'buyer', publicKey: grantee.publicKey } as never;
    if (partyId === 'buyer-2') return { partyId, role: 'buyer', publicKey: stranger.publicKey } as never;
    return undefined;
  },
};

type Outcome = { kind: 'refund' } | { kind: 'release' } | { kind: 'split'; sellerBps: number };
const vote = (
  principal: string,
  outcome: Outcome,
  over: { key?: string; of?: SignedTerms; workflowId?: string } = {},
) => {
  const of = over.of ?? terms;
  return signDecision(
    over.key ?? compliance[principal as 'c1' | 'c2']?.privateKeyPem ?? stranger.privateKeyPem,
    {
      workflowId: over.workflowId ?? `${String(of.body.dealId)}:dispute`,
      runId: 'dispute-run',
      subject: { id: String(of.body.dealId), termsHash: termsHashOf(of) },
      action: 'dispute_outcome',
      principal,
      content: { outcome },
      notAfter: 1_000,
    },
  );
};

async function refusalOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
    throw error;
  }
  return 'allowed';
}

describe('money goes back only on the signature of the side that loses it', () => {
  let dir: string;
  let records: DeliveryRecords;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-consent-'));
    records = new DeliveryRecords(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const refund = (votes?: ReturnType<typeof vote>[]) =>
    refusalOf(() => requireRefundConsent({ dealId: escrow, terms, votes }, { keys, records, now: 5 }));

  it('refunds an escrow settlement never recorded as delivered only past the signed notAfter (refund-proof)', async () => {
    expect(await refund()).toMatch(/^RefundUnproven: /);
    const expired = Date.parse('2026-12-08T10:00:00Z') + EXPIRY_CLOCK_MARGIN_MS + 1;
    expect(
      await refusalOf(() => requireRefundConsent({ dealId: escrow, terms }, { keys, records, now: expired })),
    ).toBe('allowed');
  });

  it('refuses to refund a delivered deal without two compliance votes for refund on it', async () => {
    await records.recordOnce(escrow, 1);
    const refundVote = { kind: 'refund' } as const;
    expect(await refund()).toMatch(/^RefundUnsigned: .*0 of the 2/);
    expect(await refund([vote('c1', refundVote)])).toMatch(/^RefundUnsigned: .*1 of the 2/);
    // The same principal twice is one vote.
    expect(await refund([vote('c1', refundVote), vote('c1', refundVote)])).toMatch(/1 of the 2/);
    // Votes for another outcome, about another deal, of another workflow, or by a non-compliance key.
    expect(await refund([vote('c1', refundVote), vote('c2', { kind: 'release' })])).toMatch(
      /RefundUnsigned: .*signed over/,
    );
    expect(
      await refund([
        vote('c1', refundVote),
        vote('c2', refundVote, { of: otherTerms, workflowId: 'd1:dispute' }),
      ]),
    ).toMatch(/RefundUnsigned: .*signed about d2/);
    expect(await refund([vote('c1', refundVote), vote('c2', refundVote, { workflowId: 'd1' })])).toMatch(
      /RefundUnsigned: .*run dispute-run of d1/,
    );
    expect(await refund([vote('c1', refundVote), vote('buyer-2', refundVote)])).toMatch(
      /not a registered compliance principal/,
    );
    // A vote in c2's name under another key.
    expect(
      await refund([vote('c1', refundVote), vote('c2', refundVote, { key: stranger.privateKeyPem })]),
    ).toMatch(/not signed by its registered key/);
    // Expired by now, but counted by the dispute in time: settlement carries it out.
    expect(await refund([vote('c1', refundVote), vote('c2', refundVote)])).toBe('allowed');
  });

  const consentOf = (over: { key?: string; principal?: string; escrowId?: string; notAfter?: number } = {}) =>
    signDecision(over.key ?? seller.privateKeyPem, {
      workflowId: 'd1',
      runId: 'any',
      subject: { id: 'd1', termsHash: termsHashOf(terms) },
      action: 'refund_consent',
      principal: over.principal ?? 'seller-a',
      content: { escrowId: over.escrowId ?? escrow },
      notAfter: over.notAfter ?? 1_000,
    });
  const consented = (consent: ReturnType<typeof consentOf>) =>
    refusalOf(() => requireRefundConsent({ dealId: escrow, terms, consent }, { keys, records, now: 5 }));

  it("refunds a delivered deal on the seller's own signed consent, and on nothing like it", async () => {
    await records.recordOnce(escrow, 1);
    expect(await consented(consentOf({ key: buyer.privateKeyPem }))).toMatch(
      /^RefundUnsigned: the consent is not signed by seller-a's registered key/,
    );
    expect(await consented(consentOf({ key: buyer.privateKeyPem, principal: 'acme' }))).toMatch(
      /^RefundUnsigned: .*seller-a must sign it/,
    );
    expect(await consented(consentOf({ escrowId: dealEscrowId('d1', 'another-nonce') }))).toMatch(
      /^RefundUnsigned: .*signed over/,
    );
    expect(await consented(consentOf({ notAfter: 5 }))).toMatch(/^RefundUnsigned: .*expired/);
    expect(await consented(consentOf())).toBe('allowed');
  });

  it('carries out a retried refund after the consent expired, on that escrow only', async () => {
    const other = dealEscrowId('d2', NONCE);
    await records.recordOnce(other, 1);
    const consent = consentOf({ notAfter: 100 });
    const at = (dealId: string, now: number) =>
      refusalOf(() =>
        requireRefundConsent(
          { dealId, terms: dealId === escrow ? terms : otherTerms, consent },
          { keys, records, now },
        ),
      );
    // Never accepted before its expiry: refused, and nothing is recorded that would relax it later.
    const late = consentOf({ notAfter: 50 });
    expect(
      await refusalOf(() =>
        requireRefundConsent({ dealId: escrow, terms, consent: late }, { keys, records, now: 60 }),
      ),
    ).toMatch(/expired/);
    expect(
      await refusalOf(() =>
        requireRefundConsent({ dealId: escrow, terms, consent: late }, { keys, records, now: 10 }),
      ),
    ).toBe('allowed');
    // Accepted at 10 (the transfer then failed); retried at 500, long after its expiry: carried out.
    expect(await at(escrow, 10)).toBe('allowed');
    expect(await at(escrow, 500)).toBe('allowed');
    // The same signature shown for another escrow (before or after its expiry) gives nothing back.
    expect(await at(other, 20)).toMatch(/^RefundUnsigned: .*signed about d1/);
    expect(await at(other, 500)).toMatch(/^RefundUnsigned: .*signed about d1/);
  });

  const split = (sellerAmount: string, votes?: ReturnType<typeof vote>[]) =>
    refusalOf(() => requireSplitVotes({ terms, amount: '1000', sellerAmount, votes }, keys));

  it('splits only as two compliance principals voted, to the unit', async () => {
    const sixty = { kind: 'split', sellerBps: 6000 } as const;
    expect(await split('600')).toMatch(/^SplitUnsigned: no compliance vote/);
    expect(await split('600', [vote('c1', sixty)])).toMatch(/^SplitUnsigned: .*1 of the 2/);
    expect(await split('900', [vote('c1', sixty), vote('c2', sixty)])).toMatch(
      /^SplitUnsigned: the votes split 6000 bps/,
    );
    expect(await split('600', [vote('c1', sixty), vote('c2', { kind: 'split', sellerBps: 9000 })])).toMatch(
      /^SplitUnsigned/,
    );
    expect(await split('600', [vote('c1', sixty), vote('c2', sixty)])).toBe('allowed');
  });
});

describe("a grant's remainder goes back only once the grant is over by the sponsor's signed deadlines", () => {
  let dir: string;
  let records: DeliveryRecords;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-remainder-'));
    records = new DeliveryRecords(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const EARLY = Date.parse('2027-01-01T00:00:00Z');
  const LATE = Date.parse('2027-06-01T00:00:00Z');
  const approval = { kind: 'sponsor_approval' as const };
  const grant = signTerms(
    'grant',
    'sp',
    {
      grantId: 'g1',
      granteeId: 'lab',
      total: '1000',
      feeBps: 250,
      nonce: NONCE,
      milestones: [
        { milestoneId: 'first', amount: '600', deadline: new Date(EARLY).toISOString(), check: approval },
        { milestoneId: 'second', amount: '400', deadline: new Date(LATE).toISOString(), check: approval },
      ],
    },
    sponsor.privateKeyPem,
  );
  const escrowOfGrant = grantEscrowId('g1', NONCE);
  const otherGrant = signTerms('grant', 'sp', { ...grant.body, nonce: 'another' }, sponsor.privateKeyPem);
  const remainder = (now: number) =>
    refusalOf(() => requireRemainderDue({ dealId: escrowOfGrant, terms: grant }, { keys, records, now }));

  it('refuses before any unpaid milestone is past its signed deadline', async () => {
    expect(await remainder(EARLY - 1)).toMatch(/^RemainderNotDue/);
  });

  it('allows it once an unpaid milestone missed its deadline', async () => {
    expect(await remainder(EARLY)).toBe('allowed');
  });

  it('counts a paid milestone out: its deadline passing ends nothing', async () => {
    await records.recordOnce(paidPartKey(escrowOfGrant, 'first'), 1);
    expect(await remainder(EARLY + 1)).toMatch(/^RemainderNotDue/);
    expect(await remainder(LATE)).toBe('allowed');
  });

  const extension = (
    over: { milestoneId?: string; deadline?: number; key?: string; of?: SignedTerms } = {},
  ) =>
    signDecision(over.key ?? sponsor.privateKeyPem, {
      workflowId: 'g1',
      runId: 'grant-run',
      subject: { id: 'g1', termsHash: termsHashOf(over.of ?? grant) },
      action: 'deadline_extension',
      principal: 'sp',
      content: { milestoneId: over.milestoneId ?? 'second', deadline: over.deadline ?? LATE + 1000 },
      notAfter: 1_000,
    });
  const extended = (now: number, extensions: ReturnType<typeof extension>[]) =>
    refusalOf(() =>
      requireRemainderDue({ dealId: escrowOfGrant, terms: grant, extensions }, { keys, records, now }),
    );

  it('waits for the latest deadline the sponsor signed, and never an earlier one it signs later', async () => {
    expect(await extended(LATE, [extension()])).toMatch(/^RemainderNotDue/);
    expect(await extended(LATE + 1000, [extension()])).toBe('allowed');
    // An "extension" to an earlier date does not shorten what the grantee was given.
    expect(await extended(EARLY + 1, [extension({ deadline: EARLY })])).toMatch(/^RemainderNotDue/);
    // Not the sponsor's, another grant's terms, or no milestone of this grant: refused, not ignored.
    expect(await extended(LATE, [extension({ key: stranger.privateKeyPem })])).toMatch(
      /extension .* refused: it is not signed by sp's registered key/,
    );
    expect(await extended(LATE, [extension({ of: otherGrant })])).toMatch(
      /refused: the decision was signed about g1/,
    );
    expect(await extended(LATE, [extension({ milestoneId: 'third' })])).toMatch(/extends no milestone/);
  });

  it('waits for an extension the log holds that the workflow left out, and skips logged noise', async () => {
    const logged: unknown[] = [];
    const withLog = { ...keys, loggedExtensions: async () => logged };
    const shownNothing = (now: number) =>
      refusalOf(() =>
        requireRemainderDue({ dealId: escrowOfGrant, terms: grant }, { keys: withLog, records, now }),
      );
    expect(await shownNothing(LATE)).toBe('allowed');
    // Not the sponsor's, or another grant's: it binds nobody and does not hold the remainder.
    logged.push(extension({ key: stranger.privateKeyPem }), extension({ of: otherGrant }), { junk: true });
    expect(await shownNothing(LATE)).toBe('allowed');
    logged.push(extension());
    expect(await shownNothing(LATE)).toMatch(/^RemainderNotDue/);
    expect(await shownNothing(LATE + 1000)).toBe('allowed');
    const { loggedExtensions: _none, ...withoutLog } = withLog;
    expect(
      await refusalOf(() =>
        requireRemainderDue(
          { dealId: escrowOfGrant, terms: grant },
          { keys: withoutLog, records, now: LATE },
        ),
      ),
    ).toMatch(/^RemainderNotDue: settlement reads no extension log/);
  });

  const consentOf = (over: { amount?: string; key?: string; principal?: string; notAfter?: number } = {}) =>
    signDecision(over.key ?? grantee.privateKeyPem, {
      workflowId: 'g1',
      runId: 'grant-run',
      subject: { id: 'g1', termsHash: termsHashOf(grant) },
      action: 'remainder_consent',
      principal: over.principal ?? 'lab',
      content: { amount: over.amount ?? '400' },
      notAfter: over.notAfter ?? 1_000,
    });
  const early = (now: number, consent: ReturnType<typeof consentOf>, dealId = escrowOfGrant) =>
    refusalOf(() => requireRemainderDue({ dealId, terms: grant, consent }, { keys, records, now }));

  it("returns the remainder early on the grantee's signed consent to exactly what is unpaid", async () => {
    expect(await early(10, consentOf({ key: sponsor.privateKeyPem }))).toMatch(
      /^RemainderNotDue: the grantee's consent is refused: it is not signed by lab's registered key/,
    );
    expect(await early(10, consentOf({ key: sponsor.privateKeyPem, principal: 'sp' }))).toMatch(
      /lab must sign it/,
    );
    expect(await early(10, consentOf({ amount: '1000' }))).toMatch(/signed over \{"amount":"1000"\}/);
    expect(await early(1_000, consentOf())).toMatch(/expired/);
    const consent = consentOf({ notAfter: 100 });
    expect(await early(10, consent)).toBe('allowed');
    // A retry after its expiry carries it out; on another grant's escrow it gives nothing back.
    expect(await early(500, consent)).toBe('allowed');
    expect(await early(500, consent, grantEscrowId('g1', 'nonce-of-another-grant'))).toMatch(
      /^RemainderNotDue/,
    );
  });

  it('allows it at any time once every milestone is paid (nothing is left)', async () => {
    await records.recordOnce(paidPartKey(escrowOfGrant, 'second'), 1);
    expect(await remainder(0)).toBe('allowed');
  });
});
