import { agreedDecision, assertMayVote, castVote, type Vote, type Voter } from '../approvals';
import type { AuditEvent } from '../audit-event';
import type { DecisionScope } from '../../lib/decision-statement';
import { refusal } from '../refusals';
import type { DisputeInput, DisputeOutcome, DisputeResolvedBy, DisputeStage, DisputeTerms } from './shapes';
import { dealEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import type { PartyRole } from '../../lib/parties';

/**
 * Bounds on what a dispute holds: every piece of evidence and every read is in its state and its
 * history, which Temporal caps (51,200 events, 50 MB), and a dispute may stay open for 30 days.
 */
/** Who may be named a dispute's reviewer: the coordinator checks the nominee's registered role. */
export const REVIEWER_ROLES = ['compliance', 'auditor'] as const satisfies readonly PartyRole[];

export const DISPUTE_LIMITS = { evidence: 50, evidenceReads: 200 } as const;

export type { DisputeOutcome } from './shapes';

export type { DisputeTerms } from './shapes';

export const DEFAULT_DISPUTE_TERMS: DisputeTerms = {
  reviewerAccessMs: 7 * 24 * 60 * 60 * 1000,
  resolutionTimeoutMs: 30 * 24 * 60 * 60 * 1000,
  defaultOutcome: { kind: 'refund' },
};

export type { DisputeInput } from './shapes';

export interface DisputeStatus {
  dealId: string;
  /** The deal's escrow: what the seller's signed concession (`refund_consent`) gives back. */
  escrowId: string;
  stage: DisputeStage;
  buyerId: string;
  sellerId: string;
  openedBy: string;
  reason: string;
  openedAt: number;
  /** What every decision on this dispute is signed over; absent only while the dispute starts. */
  scope?: DecisionScope;
  /** When the default outcome applies if nobody has resolved the dispute. */
  resolveBy: number;
  /**
   * The timeout passed with a default (a refund or a split) that takes money from the seller, which
   * settlement pays only on two compliance votes or the seller's concession: the dispute stays open
   * for them rather than closing on an outcome nobody can carry out.
   */
  defaultWithheld?: boolean;
  reviewer?: { partyId: string; namedBy: string; accessUntil: number; expired: boolean };
  evidence: { by: string; ref: string; at: number }[];
  approvals: Vote<DisputeOutcome>[];
  outcome?: DisputeOutcome;
  resolvedBy?: DisputeResolvedBy;
  audit: AuditEvent[];
}

export const outcomeKey = (outcome: DisputeOutcome): string =>
  outcome.kind === 'split' ? `split:${outcome.sellerBps}` : outcome.kind;

export function assertValidOutcome(outcome: DisputeOutcome): void {
  if (
    outcome.kind === 'split' &&
    !(Number.isInteger(outcome.sellerBps) && outcome.sellerBps >= 0 && outcome.sellerBps <= 10_000)
  )
    throw refusal('InvalidInput', 'sellerBps must be a whole number from 0 to 10000');
}

/** The seller's share of a split, rounded down to whole units; the buyer gets the rest. */
export function sellerShare(price: string, sellerBps: number): string {
  return ((BigInt(price) * BigInt(sellerBps)) / 10_000n).toString();
}

/** A dispute's state and rules: who may do what, when access ends, what resolves it. */
export class DisputeState {
  private readonly status: DisputeStatus;
  /** Bumped on every change, so the workflow's wait wakes up and re-reads the deadlines. */
  changes = 0;

  constructor(input: DisputeInput, now: number) {
    this.status = {
      dealId: input.dealId,
      // As the deal names it (workflows/deal/settlement-steps.ts `escrowOfDeal`): under the terms' nonce.
      escrowId: dealEscrowId(input.dealId, termsNonceOf(input.terms)),
      stage: 'open',
      buyerId: input.buyerId,
      sellerId: input.sellerId,
      openedBy: input.openedBy,
      reason: input.reason,
      openedAt: now,
      resolveBy: now + input.resolutionTimeoutMs,
      evidence: [],
      approvals: [],
      audit: [],
    };
    this.record(now, 'opened', input.openedBy);
  }

  /** Set once the coordinator has hashed the deal's terms; no decision counts before. */
  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
    this.changes += 1;
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal('InvalidState', `the dispute of deal ${this.status.dealId} is starting; try again`);
    return this.status.scope;
  }

  get resolved(): boolean {
    return this.status.stage === 'resolved';
  }

  get escrowId(): string {
    return this.status.escrowId;
  }

  get outcome(): DisputeOutcome | undefined {
    return this.status.outcome;
  }

  snapshot(): DisputeStatus {
    return JSON.parse(JSON.stringify(this.status)) as DisputeStatus;
  }

  private record(at: number, action: string, by: string, detail?: AuditEvent['detail']): void {
    this.status.audit.push(detail ? { at, action, by, detail } : { at, action, by });
    this.changes += 1;
  }

  private assertOpen(): void {
    if (this.resolved) throw refusal('InvalidState', `the dispute of deal ${this.status.dealId} is resolved`);
  }

  assertCanNameReviewer(reviewerId: string): void {
    this.assertOpen();
    if (reviewerId === this.status.buyerId || reviewerId === this.status.sellerId)
      throw refusal('InvalidInput', 'a party to the deal cannot review its dispute');
  }

  nameReviewer(reviewerId: string, namedBy: string, accessMs: number, now: number): void {
    this.assertCanNameReviewer(reviewerId);
    this.status.reviewer = { partyId: reviewerId, namedBy, accessUntil: now + accessMs, expired: false };
    this.record(now, 'reviewer_named', namedBy, { reviewer: reviewerId, accessUntil: now + accessMs });
  }

  assertCanAddEvidence(by: string): void {
    this.assertOpen();
    if (by !== this.status.buyerId && by !== this.status.sellerId)
      throw refusal('Forbidden', 'only the buyer or the seller adds evidence');
  }

  /**
   * Checked by the update's validator only, never in its handler: a handler replays the updates
   * already accepted, and must accept them again whatever the bound was then.
   */
  assertRoomForEvidence(): void {
    if (this.status.evidence.length >= DISPUTE_LIMITS.evidence)
      throw refusal(
        'InvalidState',
        `the dispute of deal ${this.status.dealId} holds ${DISPUTE_LIMITS.evidence} pieces of evidence, the most allowed`,
      );
  }

  addEvidence(by: string, ref: string, now: number): void {
    this.assertCanAddEvidence(by);
    this.status.evidence.push({ by, ref, at: now });
    this.record(now, 'evidence_added', by, { ref });
  }

  /** Throws unless `by` is the named reviewer and the access has not ended at `now`. */
  assertReviewerAccess(by: string, now: number): void {
    const reviewer = this.status.reviewer;
    if (!reviewer || reviewer.partyId !== by)
      throw refusal('Forbidden', `${by} is not the dispute's reviewer`);
    if (reviewer.expired || now >= reviewer.accessUntil)
      throw refusal('AccessExpired', `${by}'s access to the evidence has ended`);
  }

  /** A read is recorded in the audit trail, so reads are bounded too (validator only, as above). */
  assertRoomForRead(): void {
    const reads = this.status.audit.filter((event) => event.action === 'evidence_read').length;
    if (reads >= DISPUTE_LIMITS.evidenceReads)
      throw refusal(
        'InvalidState',
        `the evidence of deal ${this.status.dealId} has been read ${DISPUTE_LIMITS.evidenceReads} times, the most allowed`,
      );
  }

  /** Each signed read is used once: its nonce is recorded with the read. */
  assertFreshRead(nonce: string): void {
    if (this.status.audit.some((event) => event.action === 'evidence_read' && event.detail?.nonce === nonce))
      throw refusal('InvalidState', 'this signed read was used already: each read is signed afresh');
  }

  recordEvidenceRead(by: string, refs: string[], nonce: string, now: number): void {
    this.assertReviewerAccess(by, now);
    this.assertFreshRead(nonce);
    this.record(now, 'evidence_read', by, { refs: refs.join(','), nonce });
  }

  /** Without a key: the check before the signature is verified; with one: before it counts. */
  assertCanApprove(voter: Pick<Voter, 'principal'> & Partial<Voter>, outcome: DisputeOutcome): void {
    this.assertOpen();
    assertValidOutcome(outcome);
    assertMayVote(this.status.approvals, voter, outcome, outcomeKey);
  }

  /**
   * Records a verified approval; two distinct principals, under two distinct keys, approving the
   * same outcome resolve the dispute. A principal's new approval replaces its earlier one.
   */
  approve(voter: Voter, outcome: DisputeOutcome, now: number): void {
    this.assertCanApprove(voter, outcome);
    const cast = castVote(this.status.approvals, { ...voter, decision: outcome, at: now });
    this.status.approvals = cast.votes;
    this.record(now, cast.changed ? 'approval_changed' : 'approved', voter.principal, {
      outcome: outcomeKey(outcome),
    });
    const agreed = agreedDecision(this.status.approvals, outcomeKey);
    if (agreed) this.resolve(agreed, 'approvals', now);
  }

  /** Throws unless `by` is the deal's seller and the dispute is open: only the loser concedes. */
  assertCanConcede(by: string): void {
    this.assertOpen();
    if (by !== this.status.sellerId)
      throw refusal('Forbidden', `only the seller of deal ${this.status.dealId} concedes its dispute`);
  }

  /** The seller gives the escrow back: the dispute resolves as a refund on its signed consent. */
  concede(by: string, now: number): void {
    this.assertCanConcede(by);
    this.record(now, 'conceded', by);
    this.resolve({ kind: 'refund' }, 'concession', now);
  }

  /**
   * The next moment something happens by itself: the reviewer's access ends, or the timeout; none
   * once the timeout has passed with its default withheld (only a signed decision ends it then).
   */
  nextDeadline(): number | undefined {
    const reviewer = this.status.reviewer;
    const timeout = this.status.defaultWithheld ? undefined : this.status.resolveBy;
    if (!reviewer || reviewer.expired) return timeout;
    return timeout === undefined ? reviewer.accessUntil : Math.min(reviewer.accessUntil, timeout);
  }

  /**
   * Applies whatever time has made due: the reviewer's access ending, the default outcome. A default
   * release applies; a default refund or split is the seller's loss, which settlement carries out only
   * on its signatures (activities/settlement/loser-consent.ts): it is withheld, and the dispute waits.
   */
  tick(now: number, defaultOutcome: DisputeOutcome, withholdUnsigned = true): void {
    const reviewer = this.status.reviewer;
    if (reviewer && !reviewer.expired && now >= reviewer.accessUntil) {
      reviewer.expired = true;
      this.record(now, 'reviewer_access_ended', 'timer', { reviewer: reviewer.partyId });
    }
    if (this.resolved || this.status.defaultWithheld || now < this.status.resolveBy) return;
    if (defaultOutcome.kind === 'release' || !withholdUnsigned)
      return this.resolve(defaultOutcome, 'timeout', now);
    this.status.defaultWithheld = true;
    this.record(now, 'default_withheld', 'timer', { outcome: outcomeKey(defaultOutcome) });
  }

  private resolve(outcome: DisputeOutcome, by: DisputeResolvedBy, now: number): void {
    this.status.stage = 'resolved';
    this.status.outcome = outcome;
    this.status.resolvedBy = by;
    if (this.status.reviewer && !this.status.reviewer.expired) {
      this.status.reviewer.expired = true;
      this.status.reviewer.accessUntil = Math.min(this.status.reviewer.accessUntil, now);
    }
    const resolver = { timeout: 'timer', approvals: 'approvals', concession: this.status.sellerId }[by];
    this.record(now, 'resolved', resolver, { outcome: outcomeKey(outcome) });
  }
}
