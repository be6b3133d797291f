import { describe, expect, it } from 'vitest';
import { moneyFactsOf, conservationProblems } from '../../audit/settlement-facts';
import { subjectCalls, subjectKey, subjectOfKey, type AuditSubject } from '../../audit/subject';

describe('audit subjects', () => {
  const subjects: AuditSubject[] = [
    { kind: 'deal', dealId: 'deal-1' },
    { kind: 'grant', grantId: 'g-1' },
    { kind: 'disclosure', disclosureId: 'd-1' },
    { kind: 'subscription_period', subscriptionId: 'sub-1', period: 12 },
  ];

  it('each key names one subject, and reads back as it', () => {
    for (const subject of subjects) expect(subjectOfKey(subjectKey(subject))).toEqual(subject);
    expect(new Set(subjects.map(subjectKey)).size).toBe(subjects.length);
  });

  it('a key it cannot read is refused, not guessed', () => {
    for (const key of ['grant:', 'other:x', 'grant:a:b', 'subscription:s/period-0', 'subscription:s']) {
      expect(subjectOfKey(key)).toBeUndefined();
    }
  });

  it("a subscription period's calls are its own escrow's and its own queries', not its neighbours'", () => {
    const call = (activityType: string, dealId: string) => ({
      activityType,
      input: [{ dealId }],
      completed: true,
    });
    const calls = [
      call('lockEscrow', 'period:sub-1:1'),
      call('runApprovedQuery', 'sub-1/period-1/query-0'),
      call('lockEscrow', 'period:sub-1:2'),
      call('runApprovedQuery', 'sub-1/period-2/query-0'),
      call('releaseEscrow', 'period:sub-1:2'),
      call('runApprovedQuery', 'sub-1/period-20/query-0'),
    ];
    const period = { kind: 'subscription_period', subscriptionId: 'sub-1', period: 2 } as const;
    expect(subjectCalls(period, {}, calls).map((c) => (c.input[0] as { dealId: string }).dealId)).toEqual([
      'period:sub-1:2',
      'sub-1/period-2/query-0',
      'period:sub-1:2',
    ]);
  });
});

describe("a dispute's split in the money facts", () => {
  const split = (result: Record<string, string>) =>
    moneyFactsOf([
      { activityType: 'lockEscrow', input: [{ buyerId: 'b', amount: '1000' }], result: {}, completed: true },
      {
        activityType: 'splitEscrow',
        input: [
          {
            sellerId: 's',
            buyerId: 'b',
            splitId: 'dispute:d',
            amount: '1000',
            sellerAmount: '400',
            feeBps: 250,
          },
        ],
        result,
        completed: true,
      },
    ]);

  it('the seller share less the fee, the fee on the share, the rest back to the buyer: conserved', () => {
    const facts = split({ sellerAmount: '390', feeAmount: '10', buyerAmount: '600' });
    expect(facts.payouts).toEqual([{ to: 's', amount: '390', part: 'dispute:d' }]);
    expect(facts.refunds).toEqual([{ to: 'b', amount: '600' }]);
    expect(conservationProblems(facts)).toEqual([]);
  });

  it('a fee taken on the whole price instead of the share is a finding', () => {
    const facts = split({ sellerAmount: '375', feeAmount: '25', buyerAmount: '600' });
    expect(conservationProblems(facts)).toContainEqual(
      'a fee of 25 was taken from 400; 250 bps agreed make 10',
    );
  });
});
