import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import {
  MAX_PAYMENT_RETRIES,
  SubscriptionState,
  type SubscriptionInput,
} from '../../workflows/subscription/state';

const input: SubscriptionInput = {
  subscriptionId: 'sub',
  buyerId: 'b',
  sellerId: 's',
  pricePerPeriod: '100',
  feeBps: 0,
  buyerKeyRef: 'sha256:k',
  compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: ['health'] },
  queries: [],
  terms: signTerms('subscription', 'b', { subscriptionId: 'sub' }, generateEd25519KeyPair().privateKeyPem),
  periodMs: 100,
  graceMs: 30,
  periodsPerRun: 2,
};
const token = (n: number) => ({ tokenHash: `sha256:t${n}`, sealedTokenRef: `sha256:s${n}` });

describe('subscription state', () => {
  it('periods follow the schedule; a rotated token outlives its period by the grace', () => {
    const sub = new SubscriptionState(input, 1000);
    expect(sub.periodBoundary).toBe(1000);
    sub.startPeriod();
    sub.charged();
    sub.rotate(token(1), 1005);
    expect(sub.snapshot()).toMatchObject({
      currentPeriod: 1,
      periodStartedAt: 1000,
      periodEndsAt: 1100,
      nextRenewalAt: 1100,
    });
    expect(sub.periodBoundary).toBe(1100);
    sub.startPeriod();
    sub.charged();
    sub.rotate(token(2), 1101);
    expect(sub.nextTokenExpiry()).toBe(1130);
    sub.expireTokens(1129);
    expect(sub.snapshot().tokens.map((t) => t.expired)).toEqual([false, false]);
    sub.expireTokens(1130);
    expect(sub.snapshot().tokens.map((t) => [t.period, t.expiresAt, t.expired])).toEqual([
      [1, 1130, true],
      [2, 1230, false],
    ]);
  });

  it('a failed charge opens a grace window from the period start; a later charge closes it', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    expect(sub.enterGrace({ code: 'InsufficientFunds', reason: 'r' })).toBe(30);
    expect(sub.enterGrace({ code: 'InsufficientFunds', reason: 'r' })).toBe(30);
    expect(sub.stage).toBe('grace');
    sub.charged();
    expect(sub.snapshot()).toMatchObject({ stage: 'active', periodsCharged: 1 });
    expect(sub.snapshot().graceUntil).toBeUndefined();
  });

  it('suspension ends every token at once', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    sub.charged();
    sub.rotate(token(1), 1);
    sub.startPeriod();
    sub.enterGrace({ code: 'InsufficientFunds', reason: 'r' });
    sub.suspend(130);
    expect(sub.snapshot()).toMatchObject({ stage: 'suspended', tokens: [{ expired: true, expiresAt: 130 }] });
    expect(sub.snapshot().nextRenewalAt).toBeUndefined();
  });

  it('cancel: only by the subscriber, once; access ends at the period end, not after grace', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    sub.charged();
    sub.rotate(token(1), 1);
    expect(() => sub.requestCancel('s')).toThrow(/only the subscriber/);
    sub.requestCancel('b');
    expect(() => sub.requestCancel('b')).toThrow(/cancelling/);
    expect(sub.snapshot()).toMatchObject({ stage: 'cancelling', tokens: [{ expiresAt: 100 }] });
    expect(sub.snapshot().nextRenewalAt).toBeUndefined();
    sub.cancelled(100);
    expect(sub.ended).toBe(true);
  });

  it('carries its state into the next run, keeping the lists bounded', () => {
    const sub = new SubscriptionState(input, 0);
    for (let n = 1; n <= 6; n++) {
      sub.startPeriod();
      sub.charged();
      sub.rotate(token(n), n * 100);
      sub.deliver([]);
    }
    const next = new SubscriptionState({ ...input, carried: sub.carry() }, 650);
    expect(next.snapshot()).toMatchObject({ currentPeriod: 6, periodsCharged: 6, run: 2, periodEndsAt: 600 });
    expect(next.snapshot().tokens.map((t) => t.period)).toEqual([3, 4, 5, 6]);
    expect(next.snapshot().deliveries.map((d) => d.period)).toEqual([3, 4, 5, 6]);
  });
});

describe('subscription payment retries (payment-ready)', () => {
  it('count only in grace, one pending at a time, at most MAX_PAYMENT_RETRIES per window', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    expect(sub.requestPaymentRetry()).toBe(false); // not in grace: nothing to retry
    sub.enterGrace({ code: 'PaymentNotReceived', reason: 'none' });
    expect(sub.requestPaymentRetry()).toBe(true);
    // A flood of signals while one retry is pending adds nothing.
    for (let i = 0; i < 100; i++) expect(sub.requestPaymentRetry()).toBe(false);
    expect(sub.paymentRetries).toBe(1);
    for (let i = 1; i < MAX_PAYMENT_RETRIES; i++) {
      sub.paymentRetryStarted();
      expect(sub.requestPaymentRetry()).toBe(true);
    }
    sub.paymentRetryStarted();
    expect(sub.requestPaymentRetry()).toBe(false);
    expect(sub.paymentRetries).toBe(MAX_PAYMENT_RETRIES);
  });

  it('only the subscriber reports a payment, and only in grace: typed refusals otherwise', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    const refusalOf = (by: string) => {
      try {
        sub.assertMayReportPayment(by);
        return 'accepted';
      } catch (error) {
        return `${(error as { type?: string }).type}: ${(error as Error).message}`;
      }
    };
    expect(refusalOf('b')).toBe('InvalidState: subscription sub is active, not in grace');
    sub.enterGrace({ code: 'PaymentNotReceived', reason: 'none' });
    expect(refusalOf('s')).toBe('Forbidden: only the subscriber reports a payment');
    expect(refusalOf('b')).toBe('accepted');
  });

  it('a paid charge gives the next grace window its full allowance again', () => {
    const sub = new SubscriptionState(input, 0);
    sub.startPeriod();
    sub.enterGrace({ code: 'PaymentNotReceived', reason: 'none' });
    for (let i = 0; i < MAX_PAYMENT_RETRIES; i++) {
      sub.requestPaymentRetry();
      sub.paymentRetryStarted();
    }
    sub.charged();
    sub.startPeriod();
    sub.enterGrace({ code: 'PaymentNotReceived', reason: 'none' });
    expect(sub.requestPaymentRetry()).toBe(true);
  });

  it('the signed number of periods bounds it: done once the last has started, then completed', () => {
    const key = generateEd25519KeyPair().privateKeyPem;
    const signedFor = (periods?: number) => ({
      ...input,
      terms: signTerms('subscription', 'b', { subscriptionId: 'sub', ...(periods ? { periods } : {}) }, key),
    });
    const sub = new SubscriptionState(signedFor(2), 1000);
    sub.startPeriod();
    expect(sub.signedPeriodsDone).toBe(false);
    sub.startPeriod();
    expect(sub.signedPeriodsDone).toBe(true);
    sub.rotate(token(2), 1105);
    sub.complete(1200);
    expect(sub.ended).toBe(true);
    expect(sub.snapshot()).toMatchObject({ stage: 'completed', endedAt: 1200, currentPeriod: 2 });
    expect(sub.snapshot().nextRenewalAt).toBeUndefined();
    expect(sub.snapshot().tokens.every((t) => t.expired)).toBe(true);
    expect(() => sub.assertCancellable('b')).toThrow(/is completed/);
    // Terms from before the count was signed set no bound.
    const unbounded = new SubscriptionState(signedFor(), 1000);
    for (let n = 0; n < 20; n++) unbounded.startPeriod();
    expect(unbounded.signedPeriodsDone).toBe(false);
  });

  it("binds a cancel to this run's scope, which a new run (continueAsNew) does not carry", () => {
    const sub = new SubscriptionState(input, 1000);
    expect(() => sub.scope).toThrow(/starting; try again/);
    const scope = { workflowId: 'subscription-sub', runId: 'r1', subject: { id: 'sub', termsHash: 'h' } };
    sub.setScope(scope);
    expect(sub.snapshot().scope).toEqual(scope);
    const next = new SubscriptionState({ ...input, carried: sub.carry() }, 2000);
    expect(next.snapshot().scope).toBeUndefined();
  });
});

describe("a delivered period's dispute", () => {
  const delivered = () => {
    const sub = new SubscriptionState(input, 1000);
    sub.startPeriod();
    sub.charged();
    sub.holdPayout('period:sub:1:n');
    return sub;
  };

  it('only the subscriber disputes, only the held period, once; it holds until the period end plus grace', () => {
    const sub = delivered();
    expect(sub.snapshot().held).toEqual({ period: 1, escrowId: 'period:sub:1:n', until: 1100 });
    expect(() => sub.assertCanDispute('s', 1, 'wrong')).toThrow(/only the subscriber/);
    expect(() => sub.assertCanDispute('b', 2, 'wrong')).toThrow(/period 2 of sub is not awaiting its payout/);
    expect(() => sub.assertCanDispute('b', 1, '')).toThrow(/reason/);
    expect(sub.openDispute('b', 1, 'empty cohort', 1050)).toMatchObject({
      period: 1,
      escrowId: 'period:sub:1:n',
      stage: 'open',
      until: 1130,
    });
    expect(() => sub.assertCanDispute('b', 1, 'again')).toThrow(/already disputed/);
  });

  it('only the seller concedes an open dispute; one not conceded lapses; none after the hold ends', () => {
    const sub = delivered();
    expect(() => sub.assertCanConcede('s', 1)).toThrow(/no open dispute/);
    sub.openDispute('b', 1, 'empty cohort', 1050);
    expect(() => sub.concede('b', 1, 1060)).toThrow(/only the seller/);
    sub.concede('s', 1, 1060);
    sub.lapse(1, 1200);
    expect(sub.disputeOf(1)).toMatchObject({ stage: 'conceded', resolvedAt: 1060 });
    expect(() => sub.concede('s', 1, 1070)).toThrow(/no open dispute/);
    sub.endHold();
    expect(sub.snapshot().held).toBeUndefined();
    expect(() => sub.assertCanDispute('b', 1, 'late')).toThrow(/not awaiting its payout/);

    const other = delivered();
    other.openDispute('b', 1, 'empty cohort', 1050);
    other.lapse(1, 1130);
    expect(other.disputeOf(1)).toMatchObject({ stage: 'lapsed', resolvedAt: 1130 });
  });
});
