import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import { GRANT_LIMITS, GrantState, progressOf, type MilestoneGrantInput } from '../../workflows/grant/state';
import type { SignedDecision } from '../../lib/decision-statement';

/** The state keeps the sponsor's signed approval for settlement; its signature is checked before it. */
const approval = { statement: {}, signature: 'signed' } as unknown as SignedDecision<{ milestoneId: string }>;

const query = {
  kind: 'query' as const,
  sellerId: 's',
  templateId: 't',
  templateHash: 'sha256:0',
  parameters: {},
  metric: 'patients',
  threshold: 1000,
};
const input: MilestoneGrantInput = {
  grantId: 'g',
  sponsorId: 'sp',
  granteeId: 'lab',
  feeBps: 0,
  milestones: [
    { milestoneId: 'enrolled', name: '1,000 enrolled', amount: '600', deadline: 100, check: query },
    {
      milestoneId: 'report',
      name: 'report',
      amount: '400',
      deadline: 200,
      check: { kind: 'sponsor_approval' },
    },
  ],
  terms: signTerms('grant', 'sp', { grantId: 'g' }, generateEd25519KeyPair().privateKeyPem),
};

const active = () => {
  const grant = new GrantState(input);
  grant.funded();
  return grant;
};

describe('grant state', () => {
  it('bounds the evidence a milestone keeps: the validator refuses the 21st submission, saying why', () => {
    const grant = active();
    for (let i = 0; i < GRANT_LIMITS.evidencePerMilestone; i++) {
      grant.assertRoomForEvidence('report');
      grant.submitEvidence('lab', 'report', `sha256:${i}`, 1);
    }
    expect(() => grant.assertRoomForEvidence('report')).toThrow(
      'milestone report has had evidence submitted 20 times, the most allowed',
    );
    expect(grant.snapshot().milestones[1]!.evidence).toHaveLength(20);
  });

  it('evidence queues a perimeter check; a met check is released; the total is the tranches', () => {
    const grant = active();
    expect(grant.snapshot().total).toBe('1000');
    expect(() => grant.submitEvidence('sp', 'enrolled', 'sha256:e', 1)).toThrow(/only the grantee/);
    grant.submitEvidence('lab', 'enrolled', 'sha256:e', 1);
    expect(grant.toCheck().map((m) => m.milestoneId)).toEqual(['enrolled']);
    expect(() => grant.submitEvidence('lab', 'enrolled', 'sha256:f', 2)).toThrow(/is checking/);
    grant.recordCheck('enrolled', { met: true, statementHash: 'sha256:s' }, 3);
    expect(grant.toRelease().map((m) => m.milestoneId)).toEqual(['enrolled']);
    grant.released('enrolled', 4);
    expect(progressOf(grant.snapshot())).toEqual({
      grantId: 'g',
      stage: 'active',
      milestonesMet: 1,
      milestonesTotal: 2,
      percentMet: 50,
    });
  });

  it('a check that is not met reopens the milestone until its deadline, which then is missed', () => {
    const grant = active();
    grant.submitEvidence('lab', 'enrolled', 'sha256:e', 1);
    expect(grant.nextDeadline()).toBe(200);
    grant.recordCheck('enrolled', { met: false }, 2);
    expect(grant.nextDeadline()).toBe(100);
    expect(grant.expireDeadlines(99)).toBe(false);
    expect(() => grant.submitEvidence('lab', 'enrolled', 'sha256:e', 100)).toThrow(/past its deadline/);
    expect(grant.expireDeadlines(100)).toBe(true);
    grant.close('1000');
    expect(grant.snapshot().milestones.map((m) => m.stage)).toEqual(['missed', 'void']);
    expect(grant.snapshot()).toMatchObject({ stage: 'ended', refunded: '1000' });
  });

  it('the sponsor approves its milestones and extends deadlines before they pass, only later', () => {
    const grant = active();
    expect(() => grant.approve('sp', 'enrolled', 1, approval)).toThrow(/verified by a query/);
    expect(() => grant.approve('lab', 'report', 1, approval)).toThrow(/only the sponsor/);
    expect(() => grant.extend('sp', 'enrolled', 50, 1)).toThrow(/later/);
    grant.extend('sp', 'enrolled', 150, 1);
    expect(grant.expireDeadlines(120)).toBe(false);
    expect(() => grant.extend('sp', 'enrolled', 300, 150)).toThrow(/past its deadline/);
    expect(() => grant.approve('sp', 'report', 2, approval)).toThrow(/no evidence yet/);
    grant.submitEvidence('lab', 'report', 'sha256:report', 2);
    grant.approve('sp', 'report', 2, approval);
    grant.released('report', 3);
    grant.recordCheck('enrolled', { met: true }, 4);
    grant.released('enrolled', 5);
    expect(grant.allReleased).toBe(true);
    grant.close('0');
    expect(grant.stage).toBe('completed');
    expect(progressOf(grant.snapshot()).percentMet).toBe(100);
  });

  it("shows settlement the deciding party's signature, and a tranche refused for want of one reopens", () => {
    const grant = active();
    grant.submitEvidence('lab', 'enrolled', 'sha256:e', 1);
    grant.recordCheck('enrolled', { met: true, statementHash: 'sha256:s' }, 2);
    expect(grant.trancheProof('enrolled')).toEqual({ kind: 'verdict', release: undefined });
    grant.submitEvidence('lab', 'report', 'sha256:r', 2);
    grant.approve('sp', 'report', 3, approval);
    expect(grant.trancheProof('report')).toEqual({ kind: 'approval', signed: approval });

    grant.trancheRefused('enrolled', { code: 'TrancheUnproven' }, 4);
    grant.trancheRefused('report', { code: 'TrancheUnproven' }, 4);
    expect(grant.toRelease()).toEqual([]);
    expect(grant.snapshot().milestones.map((m) => [m.stage, m.lastCheck])).toEqual([
      ['open', { met: false, statementHash: 'sha256:s', problem: 'TrancheUnproven', at: 4 }],
      ['open', { met: false, problem: 'TrancheUnproven', at: 4 }],
    ]);
    // The refused approval is gone: the sponsor approves again, or the deadline passes.
    expect(grant.trancheProof('report')).toEqual({ kind: 'approval' });
    expect(grant.expireDeadlines(200)).toBe(true);
  });

  it('rounds the public percentage and shows nothing but counts', () => {
    const grant = new GrantState({
      ...input,
      milestones: [0, 1, 2].map((i) => ({ ...input.milestones[1]!, milestoneId: `m${i}` })),
    });
    grant.funded();
    grant.submitEvidence('lab', 'm0', 'sha256:m0', 1);
    grant.approve('sp', 'm0', 1, approval);
    const progress = progressOf(grant.snapshot());
    expect(progress.percentMet).toBe(33);
    expect(Object.keys(progress).sort()).toEqual([
      'grantId',
      'milestonesMet',
      'milestonesTotal',
      'percentMet',
      'stage',
    ]);
  });

  it('the grantee gives back exactly what is unpaid, once; the grant then ends, and settlement is shown why', () => {
    const grant = active();
    const consent = (amount: string) =>
      ({ statement: { content: { amount } }, signature: 'signed' }) as unknown as SignedDecision<{
        amount: string;
      }>;
    const extension = { statement: {}, signature: 'x' } as unknown as SignedDecision<{
      milestoneId: string;
      deadline: number;
    }>;
    grant.extend('sp', 'report', 300, 1, extension);
    grant.recordCheck('enrolled', { met: true }, 2);
    expect(() => grant.assertCanConsentToRemainder('lab', '1000')).toThrow(
      /a milestone is being checked or paid/,
    );
    grant.released('enrolled', 3);
    expect(grant.unreleased).toBe('400');
    expect(() => grant.consentToRemainder('sp', consent('400'))).toThrow(/only the grantee/);
    expect(() => grant.consentToRemainder('lab', consent('1000'))).toThrow(/the remainder is 400, not 1000/);
    grant.consentToRemainder('lab', consent('400'));
    expect(grant.remainderConsented).toBe(true);
    expect(() => grant.consentToRemainder('lab', consent('400'))).toThrow(/already gave the remainder back/);
    expect(grant.remainderDecisions()).toEqual({ extensions: [extension], consent: consent('400') });
    grant.close('400');
    expect(grant.snapshot()).toMatchObject({ stage: 'ended', refunded: '400' });
    expect(grant.snapshot().milestones.map((m) => m.stage)).toEqual(['released', 'void']);
  });
});
