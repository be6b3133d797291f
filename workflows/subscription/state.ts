import { SettlementAttention } from '../settlement-attention';
import { refusal } from '../refusals';
import {
  isFinalSubscriptionStage,
  type DeliveredQuery,
  type PeriodDispute,
  type SubscriptionStage,
  type SubscriptionCarry,
  type SubscriptionInput,
  type SubscriptionStatus,
} from './shapes';
import type { DecisionScope } from '../../lib/decision-statement';
import { MAX_DISPUTE_REASON } from '../deal/shapes';

export type {
  AccessTokenStatus,
  ScheduledQuery,
  SubscriptionCarry,
  SubscriptionInput,
  SubscriptionTerms,
  DeliveredQuery,
  PeriodDelivery,
  PeriodDispute,
  HeldPayout,
  SubscriptionStage,
  SubscriptionStatus,
} from './shapes';

// Bounded lists: histories and continueAsNew inputs stay small however long a subscription runs.
const KEEP_TOKENS = 4;
const KEEP_DELIVERIES = 4;
const KEEP_DISPUTES = 4;
/** Charge attempts the buyer can ask for within one grace window (the grace's end tries once more). */
export const MAX_PAYMENT_RETRIES = 5;

export const DEFAULT_SUBSCRIPTION_GRACE_MS = 3 * 24 * 60 * 60 * 1000;
export const DEFAULT_PERIODS_PER_RUN = 12;

/** A subscription's state and rules: periods, charges and grace, token rotation, cancellation. */
export class SubscriptionState {
  private readonly status: SubscriptionStatus;
  private readonly signedPeriods: number | undefined;
  readonly attention = new SettlementAttention();
  changes = 0;
  /**
   * The buyer's "I have paid, try again", counted so a wait can tell a new one. Bounded: signals are
   * coalesced (one pending retry at a time) and a grace window takes at most MAX_PAYMENT_RETRIES, so a
   * flood of signals sets off at most that many charge attempts.
   */
  paymentRetries = 0;
  private retryPending = false;
  private retriesThisGrace = 0;

  constructor(input: SubscriptionInput, now: number) {
    const periods = input.terms?.body?.periods;
    this.signedPeriods = typeof periods === 'number' && Number.isInteger(periods) ? periods : undefined;
    const carried: SubscriptionCarry = input.carried
      ? { ...input.carried, run: input.carried.run + 1 }
      : {
          stage: 'active',
          currentPeriod: 0,
          nextRenewalAt: now,
          periodsCharged: 0,
          tokens: [],
          deliveries: [],
          run: 1,
        };
    this.status = {
      subscriptionId: input.subscriptionId,
      buyerId: input.buyerId,
      sellerId: input.sellerId,
      pricePerPeriod: input.pricePerPeriod,
      periodMs: input.periodMs,
      graceMs: input.graceMs,
      ...carried,
    };
  }

  get stage(): SubscriptionStage {
    return this.status.stage;
  }

  get period(): number {
    return this.status.currentPeriod;
  }

  get ended(): boolean {
    return isFinalSubscriptionStage(this.stage);
  }

  /**
   * Whether every period the subscriber's signed terms allow (`periods`) has started: no period past
   * them is charged or run. Terms from before the count was signed set no bound.
   */
  get signedPeriodsDone(): boolean {
    const periods = this.signedPeriods;
    return periods !== undefined && this.period >= periods;
  }

  get cancelRequested(): boolean {
    return this.status.cancelledBy !== undefined;
  }

  snapshot(): SubscriptionStatus {
    const status = JSON.parse(JSON.stringify(this.status)) as SubscriptionStatus;
    if (this.attention.needed) status.attention = this.attention.open;
    return status;
  }

  awaitPayment(address: string): void {
    this.status.payment = { period: this.period, address, amount: this.status.pricePerPeriod };
    this.changed();
  }

  carry(): SubscriptionCarry {
    const {
      subscriptionId: _s,
      buyerId: _b,
      sellerId: _l,
      pricePerPeriod: _p,
      periodMs: _m,
      graceMs: _g,
      attention: _a,
      scope: _r,
      ...rest
    } = this.snapshot();
    return rest;
  }

  private changed(): void {
    this.changes += 1;
  }

  /** When the current period ends (and the next would start); the first period starts at once. */
  get periodBoundary(): number {
    return this.status.periodEndsAt ?? this.status.nextRenewalAt!;
  }

  startPeriod(): void {
    const startsAt = this.periodBoundary;
    this.status.currentPeriod += 1;
    this.status.periodStartedAt = startsAt;
    this.status.periodEndsAt = startsAt + this.status.periodMs;
    this.status.nextRenewalAt = this.status.periodEndsAt;
    this.changed();
  }

  /** The charge of the current period failed: the grace window runs from the period's start. */
  enterGrace(problem: { code: string; reason: string }): number {
    if (this.stage !== 'grace') {
      this.status.stage = 'grace';
      this.status.graceUntil = this.status.periodStartedAt! + this.status.graceMs;
      this.status.problem = problem;
      this.changed();
    }
    return this.status.graceUntil!;
  }

  charged(): void {
    this.retriesThisGrace = 0;
    this.retryPending = false;
    this.status.periodsCharged += 1;
    if (this.stage === 'grace') this.status.stage = 'active';
    delete this.status.graceUntil;
    delete this.status.problem;
    this.changed();
  }

  /**
   * Counts a retry only in grace, when none is pending and the window's allowance is not spent;
   * returns whether it counted. Anything else is dropped: a signal cannot queue work.
   */
  requestPaymentRetry(): boolean {
    if (this.stage !== 'grace' || this.retryPending || this.retriesThisGrace >= MAX_PAYMENT_RETRIES)
      return false;
    this.retryPending = true;
    this.retriesThisGrace += 1;
    this.paymentRetries += 1;
    this.changed();
    return true;
  }

  /** The charge is being tried again: a new request may be counted from now on. */
  paymentRetryStarted(): void {
    this.retryPending = false;
  }

  /** A new token for the current period; it works until the period's end plus grace. */
  rotate(token: { tokenHash: string; sealedTokenRef: string }, now: number): void {
    this.status.tokens.push({
      period: this.period,
      ...token,
      issuedAt: now,
      expiresAt: this.status.periodEndsAt! + this.status.graceMs,
      expired: false,
    });
    this.status.tokens = this.status.tokens.slice(-KEEP_TOKENS);
    this.changed();
  }

  deliver(results: DeliveredQuery[]): void {
    this.status.deliveries.push({ period: this.period, results });
    this.status.deliveries = this.status.deliveries.slice(-KEEP_DELIVERIES);
    this.changed();
  }

  /** A period's runs as settled with the perimeter: answers recovered after they were first lost. */
  redeliver(period: number, results: DeliveredQuery[]): void {
    const delivery = this.status.deliveries.find((d) => d.period === period);
    if (!delivery) return;
    delivery.results = results;
    this.changed();
  }

  /** The period just delivered holds its payout until the period's end: its subscriber may dispute it until then. */
  holdPayout(escrowId: string): void {
    this.status.held = { period: this.period, escrowId, until: this.status.periodEndsAt! };
    this.changed();
  }

  /** The held period is being settled: no dispute of it is taken from now on. */
  endHold(): void {
    delete this.status.held;
    this.changed();
  }

  disputeOf(period: number): PeriodDispute | undefined {
    return this.status.disputes?.find((d) => d.period === period);
  }

  /** Only the subscriber disputes, only the period whose payout is held, once, with a short reason. */
  assertCanDispute(by: string, period: number, reason: string): void {
    const id = this.status.subscriptionId;
    if (reason.length < 1 || reason.length > MAX_DISPUTE_REASON)
      throw refusal('InvalidInput', `a dispute's reason is 1 to ${MAX_DISPUTE_REASON} characters`);
    if (by !== this.status.buyerId)
      throw refusal('Forbidden', `only the subscriber of ${id} disputes a period`);
    if (this.status.held?.period !== period)
      throw refusal(
        'InvalidState',
        `period ${period} of ${id} is not awaiting its payout: a period is disputed after its delivery, before its end`,
      );
    if (this.disputeOf(period))
      throw refusal('InvalidState', `period ${period} of ${id} is already disputed`);
  }

  /** Holds the period's payout: the seller may concede until the period's end plus the grace window. */
  openDispute(by: string, period: number, reason: string, now: number): PeriodDispute {
    this.assertCanDispute(by, period, reason);
    const { escrowId, until } = this.status.held!;
    const dispute: PeriodDispute = {
      period,
      escrowId,
      reason,
      stage: 'open',
      openedAt: now,
      until: until + this.status.graceMs,
    };
    this.status.disputes = [...(this.status.disputes ?? []), dispute].slice(-KEEP_DISPUTES);
    this.changed();
    return dispute;
  }

  /** Only the seller concedes, only a dispute still open. */
  assertCanConcede(by: string, period: number): void {
    const id = this.status.subscriptionId;
    if (by !== this.status.sellerId) throw refusal('Forbidden', `only the seller of ${id} concedes a period`);
    const dispute = this.disputeOf(period);
    if (dispute?.stage !== 'open')
      throw refusal('InvalidState', `period ${period} of ${id} has no open dispute`);
  }

  concede(by: string, period: number, now: number): void {
    this.assertCanConcede(by, period);
    this.resolveDispute(period, 'conceded', now);
  }

  /** The seller did not concede in time: the period's payout goes ahead. */
  lapse(period: number, now: number): void {
    if (this.disputeOf(period)?.stage === 'open') this.resolveDispute(period, 'lapsed', now);
  }

  private resolveDispute(period: number, stage: 'conceded' | 'lapsed', now: number): void {
    const dispute = this.disputeOf(period)!;
    dispute.stage = stage;
    dispute.resolvedAt = now;
    this.changed();
  }

  /** The earliest expiry of a token still working, if any: a timer marks it expired then. */
  nextTokenExpiry(): number | undefined {
    const live = this.status.tokens.filter((t) => !t.expired).map((t) => t.expiresAt);
    return live.length ? Math.min(...live) : undefined;
  }

  expireTokens(now: number): void {
    for (const token of this.status.tokens) {
      if (!token.expired && now >= token.expiresAt) {
        token.expired = true;
        this.changed();
      }
    }
  }

  /** Only the subscriber says it has topped up, and only a grace window waits for it. */
  assertMayReportPayment(by: string): void {
    if (by !== this.status.buyerId) throw refusal('Forbidden', 'only the subscriber reports a payment');
    if (this.stage !== 'grace')
      throw refusal(
        'InvalidState',
        `subscription ${this.status.subscriptionId} is ${this.stage}, not in grace`,
      );
  }

  /** Set once the coordinator has hashed the subscriber's terms on this run; no cancel counts before. */
  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal('InvalidState', `subscription ${this.status.subscriptionId} is starting; try again`);
    return this.status.scope;
  }

  assertCancellable(by: string): void {
    if (by !== this.status.buyerId) throw refusal('Forbidden', 'only the subscriber cancels');
    if (this.stage !== 'active' && this.stage !== 'grace')
      throw refusal('InvalidState', `subscription ${this.status.subscriptionId} is ${this.stage}`);
  }

  /** Ends at the current period's end: no more renewals, and no token outlives the period. */
  requestCancel(by: string): void {
    this.assertCancellable(by);
    this.status.cancelledBy = by;
    this.status.stage = 'cancelling';
    delete this.status.nextRenewalAt;
    const end = this.status.periodEndsAt;
    if (end !== undefined)
      for (const token of this.status.tokens) token.expiresAt = Math.min(token.expiresAt, end);
    this.changed();
  }

  /** A suspension keeps `graceUntil` and `problem`: they say which window ran out, and why. */
  private end(stage: 'cancelled' | 'suspended' | 'completed', now: number): void {
    this.status.stage = stage;
    this.status.endedAt = now;
    delete this.status.nextRenewalAt;
    for (const token of this.status.tokens) {
      token.expiresAt = Math.min(token.expiresAt, now);
      token.expired = true;
    }
    this.changed();
  }

  cancelled(now: number): void {
    this.end('cancelled', now);
  }

  suspend(now: number): void {
    this.end('suspended', now);
  }

  /** The last signed period has ended: the subscription is over, with nothing owed either way. */
  complete(now: number): void {
    this.end('completed', now);
  }
}
