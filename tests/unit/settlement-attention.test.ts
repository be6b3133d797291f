import { describe, expect, it } from 'vitest';
import { SettlementAttention } from '../../workflows/settlement-attention';

describe('settlement attention (failed money steps waiting for the operator)', () => {
  it('lists each failed step once, with its latest reason and how often it failed', () => {
    const attention = new SettlementAttention();
    expect(attention.needed).toBe(false);
    attention.failed('refund', { code: 'EscrowNotLocked', reason: 'no escrow' }, 10);
    attention.failed('release-budget', { code: 'ActivityFailed', reason: 'down' }, 11);
    attention.failed('refund', { code: 'ActivityFailed', reason: 'timeout' }, 20);
    expect(attention.open).toEqual([
      { step: 'release-budget', code: 'ActivityFailed', reason: 'down', at: 11, failures: 1 },
      { step: 'refund', code: 'ActivityFailed', reason: 'timeout', at: 20, failures: 2 },
    ]);
    attention.succeeded('release-budget');
    expect(attention.open.map((item) => item.step)).toEqual(['refund']);
    attention.succeeded('refund');
    expect(attention.needed).toBe(false);
  });

  it('takes one operator retry at a time, and none when nothing waits', () => {
    const attention = new SettlementAttention();
    expect(() => attention.requestRetry()).toThrow(/nothing waits/);
    attention.failed('refund', { code: 'X', reason: 'y' }, 1);
    expect(attention.requestRetry()).toEqual(['refund']);
    expect(attention.retries).toBe(1);
    // Asked again while the retry runs: refused, so repeated requests queue no work.
    expect(() => attention.assertRetryable()).toThrow(/already under way/);
    expect(() => attention.requestRetry()).toThrow();
    expect(attention.retries).toBe(1);
    attention.retryFinished();
    expect(attention.requestRetry()).toEqual(['refund']);
    expect(attention.retries).toBe(2);
  });

  it('the open list is a copy: a status snapshot cannot change it', () => {
    const attention = new SettlementAttention();
    attention.failed('refund', { code: 'X', reason: 'y' }, 1);
    attention.open[0]!.failures = 99;
    expect(attention.open[0]!.failures).toBe(1);
  });
});
