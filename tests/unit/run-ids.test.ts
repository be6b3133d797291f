import { describe, expect, it } from 'vitest';
import { parseSubscriptionRunId, subscriptionPeriodId, subscriptionRunId } from '../../lib/ids/run-ids';

describe("a subscription's run ids", () => {
  it('parses back exactly what the workflow builds', () => {
    expect(subscriptionPeriodId('sub-1', 3)).toBe('sub-1/period-3');
    expect(subscriptionRunId('sub-1', 3, 0)).toBe('sub-1/period-3/query-0');
    for (const [period, queryIndex] of [
      [1, 0],
      [12, 7],
      [999_999_999, 9_999],
    ] as const)
      expect(parseSubscriptionRunId(subscriptionRunId('sub-1', period, queryIndex), 'sub-1')).toEqual({
        period,
        queryIndex,
      });
  });

  it("refuses another subscription's runs and ids the workflow never builds", () => {
    const run = subscriptionRunId('sub-1', 2, 0);
    expect(parseSubscriptionRunId(run, 'sub-10')).toBeUndefined();
    expect(parseSubscriptionRunId(subscriptionRunId('sub-10', 2, 0), 'sub-1')).toBeUndefined();
    for (const id of [
      'sub-1/period-0/query-0',
      'sub-1/period-02/query-0',
      'sub-1/period-2/query-01',
      'sub-1/period-2',
      'sub-1/period-2/query-0/x',
      'sub-1/period-1000000000/query-0',
      'sub-1/period-2/query-10000',
    ])
      expect(parseSubscriptionRunId(id, 'sub-1')).toBeUndefined();
  });
});
