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
import { dealEscrowId, grantEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { RegisteredKeys } from '../../lib/key-log';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const sponsor = generateEd25519KeyPair();
const compliance = { c1: generateEd25519KeyPair(), c2: generateEd25519KeyPair() };
const stranger = generateEd25519KeyPair();
const seller = generateEd25519KeyPair();
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
const keys: RegisteredKeys = {
  currentKey: async (partyId, purpose = 'party') => {
    if (purpose !== 'party') return undefined;
    if (partyId === 'acme') return { partyId, role: 'buyer', publicKey: buyer.publicKey } as never;
    if (partyId === 'sp') return { partyId, role: 'sponsor', publicKey: sponsor.publicKey } as never;
    if (partyId === 'c1' || partyId === 'c2')
      return { partyId, role: 'compliance', publicKey: compliance[partyId].publicKey } as never;
    if (partyId === 'seller-a') return { partyId, role: 'seller', publicKey: seller.publicKey } as never;
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

  it('refunds an escrow settlement never recorded as delivered', async () => {
    expect(await refund()).toBe('allowed');
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

  it('allows it at any time once every milestone is paid (nothing is left)', async () => {
    await records.recordOnce(paidPartKey(escrowOfGrant, 'second'), 1);
    expect(await remainder(0)).toBe('allowed');
  });
});
