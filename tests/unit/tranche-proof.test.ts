import { describe, expect, it } from 'vitest';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { requireTrancheProof, type TrancheProof } from '../../activities/settlement/tranche-proof';
import type { KeyRegistration } from '../../lib/transparency/key-registration';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { RegisteredKeys } from '../../lib/key-log';
import { signReleaseStatement, type ReleaseStatementBody } from '../../lib/release-statement';
import { signDecision, type DecisionStatement } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const sponsor = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const impostor = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const RUN = { workflowId: 'grant/g1', runId: 'run-1' };

const query = {
  kind: 'query' as const,
  sellerId: 'seller-a',
  templateId: 't',
  templateHash: HASH,
  parameters: {},
  metric: 'patients',
  threshold: 1000,
};
const grantBody = (grantId: string) => ({
  grantId,
  granteeId: 'lab',
  total: '1000',
  feeBps: 250,
  nonce: 'nonce-of-these-terms',
  milestones: [
    { milestoneId: 'enrolled', amount: '600', deadline: '2027-01-01T00:00:00Z', check: query },
    { milestoneId: 'scaled-up', amount: '300', deadline: '2027-01-01T00:00:00Z', check: query },
    {
      milestoneId: 'report',
      amount: '100',
      deadline: '2027-01-01T00:00:00Z',
      check: { kind: 'sponsor_approval' as const },
    },
  ],
});
const terms = signTerms('grant', 'sp', grantBody('g1'), sponsor.privateKeyPem);
const otherTerms = signTerms('grant', 'sp', grantBody('g2'), sponsor.privateKeyPem);

/** The log's view, as settlement reads it: the sponsor's party key, the seller's perimeter key. */
const keys: RegisteredKeys = {
  currentKey: async (partyId, purpose = 'party'): Promise<KeyRegistration | undefined> => {
    const registration = { type: 'tusk.key-registration/v1' as const, purpose, sequence: 0 };
    if (partyId === 'sp' && purpose === 'party')
      return { ...registration, partyId, role: 'sponsor', publicKey: sponsor.publicKey };
    if (partyId === 'seller-a' && purpose === 'perimeter')
      return { ...registration, partyId, role: 'seller', publicKey: perimeter.publicKey };
    return undefined;
  },
};

const verdict = (over: Partial<ReleaseStatementBody> = {}, key = perimeter) =>
  signReleaseStatement(
    {
      type: 'tusk.release/v1',
      kind: 'milestone_verdict',
      sellerId: 'seller-a',
      dealId: 'g1',
      subject: { milestoneId: 'enrolled', checkId: '1', met: true },
      termsHash: termsHashOf(terms),
      commitment: HASH,
      epsilonCharged: 0.5,
      deltaCharged: 0,
      datasetPolicy: { version: 1, hash: HASH },
      ...over,
    },
    key,
  );

const approval = (over: Partial<DecisionStatement<{ milestoneId: string }>> = {}, key = sponsor) =>
  signDecision(key.privateKeyPem, {
    ...RUN,
    subject: { id: 'g1', termsHash: termsHashOf(terms) },
    action: 'milestone_approval',
    principal: 'sp',
    content: { milestoneId: 'report' },
    notAfter: Date.now() + 60_000,
    ...over,
  });

/** The refusal's reason, or 'paid' when settlement would move the tranche. */
async function outcome(partId: string, proof?: TrancheProof, asking = RUN, signed = terms) {
  try {
    await requireTrancheProof({ partId, terms: signed, ...(proof ? { proof } : {}) }, keys, asking);
    return 'paid';
  } catch (error) {
    if (!(error instanceof SettlementRefusedError)) throw error;
    expect(error.refusal).toBe('TrancheUnproven');
    return error.message;
  }
}

describe("a grant tranche is paid only on the deciding party's signature", () => {
  it("pays a query milestone on the seller's perimeter's signed 'met' for this milestone and these terms", async () => {
    expect(await outcome('enrolled', { kind: 'verdict', release: verdict() })).toBe('paid');
  });

  it('refuses a made-up verdict, and a signed one for another milestone, grant or terms, or saying not met', async () => {
    expect(await outcome('enrolled', { kind: 'verdict' })).toMatch(/no statement signed by the seller/);
    expect(await outcome('enrolled')).toMatch(/no statement signed by the seller/);
    expect(await outcome('enrolled', { kind: 'verdict', release: verdict({}, impostor) })).toMatch(
      /not the seller's registered perimeter key/,
    );
    const forOther = verdict({ subject: { milestoneId: 'enrolled', checkId: '1', met: true } });
    expect(await outcome('scaled-up', { kind: 'verdict', release: forOther })).toMatch(
      /decides milestone enrolled check 1, not scaled-up/,
    );
    expect(await outcome('enrolled', { kind: 'verdict', release: verdict({ dealId: 'g2' }) })).toMatch(
      /releases deal g2, not g1/,
    );
    const otherGrant = verdict({ dealId: 'g2', termsHash: termsHashOf(otherTerms) });
    expect(await outcome('enrolled', { kind: 'verdict', release: otherGrant })).toMatch(/not g1/);
    expect(await outcome('enrolled', { kind: 'verdict', release: verdict({ termsHash: HASH }) })).toMatch(
      /other terms/,
    );
    const notMet = verdict({ subject: { milestoneId: 'enrolled', checkId: '1', met: false } });
    expect(await outcome('enrolled', { kind: 'verdict', release: notMet })).toMatch(
      /the seller's verdict is not met/,
    );
    expect(
      await outcome('enrolled', { kind: 'verdict', release: verdict({ sellerId: 'seller-b' }) }),
    ).toMatch(/the sponsor signed a check by seller-a/);
  });

  it("a query milestone is not paid on the sponsor's approval, nor an approval milestone on a verdict", async () => {
    expect(await outcome('enrolled', { kind: 'approval', signed: approval() })).toMatch(
      /no statement signed by the seller/,
    );
    expect(await outcome('report', { kind: 'verdict', release: verdict() })).toMatch(
      /no approval signed by the sponsor/,
    );
    expect(await outcome('unsigned-milestone', { kind: 'verdict', release: verdict() })).toMatch(
      /the sponsor signed no milestone unsigned-milestone/,
    );
  });

  it("pays an approval milestone on the sponsor's approval for this run, once expired too", async () => {
    expect(await outcome('report', { kind: 'approval', signed: approval() })).toBe('paid');
    // Counted in time by the workflow; a payout retried later still pays it.
    expect(await outcome('report', { kind: 'approval', signed: approval({ notAfter: 1 }) })).toBe('paid');
  });

  it('refuses an approval of another run, grant, milestone or action, or not signed by the sponsor', async () => {
    const approve = (signed: ReturnType<typeof approval>, asking = RUN) =>
      outcome('report', { kind: 'approval', signed }, asking);
    expect(await approve(approval(), { ...RUN, runId: 'run-2' })).toMatch(/signed for run run-1/);
    expect(await approve(approval({ subject: { id: 'g2', termsHash: termsHashOf(otherTerms) } }))).toMatch(
      /signed about g2/,
    );
    expect(await approve(approval({ content: { milestoneId: 'enrolled' } }))).toMatch(/signed over/);
    expect(await approve(approval({ action: 'deadline_extension' }))).toMatch(/signed as deadline_extension/);
    expect(await approve(approval({ principal: 'lab' }))).toMatch(/lab's; sp must sign it/);
    expect(await approve(approval({}, impostor))).toMatch(/not signed by sp's registered key/);
    expect(await outcome('report', { kind: 'approval' })).toMatch(/no approval signed by the sponsor/);
  });
});
