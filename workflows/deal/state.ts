import type { RunApprovedQueryResult } from '../../activities/perimeter/types';
import { SettlementAttention } from '../settlement-attention';
import { ExpiryStatus } from '../expiry-status';
import { refusal } from '../refusals';
import {
  MAX_DISPUTE_REASON,
  type CohortQueryDealInput,
  type ConfirmedBy,
  type DealDispute,
  type DealProblem,
  type DealStage,
  type DealStatus,
} from './shapes';
import type { DecisionScope } from '../../lib/decision-statement';

export {
  DEAL_STAGES,
  type CohortQueryDealInput,
  MAX_DISPUTE_REASON,
  type DealDispute,
  type DealProblem,
  type DealStage,
  type DealStatus,
} from './shapes';

export const DEFAULT_ACCEPTANCE_TIMEOUT_MS = 72 * 60 * 60 * 1000;

/** The deal's state and its rules, free of Temporal so it can be unit-tested. */
export class DealState {
  private readonly status: DealStatus;
  readonly attention = new SettlementAttention();
  /** The wait for the perimeter(s) to confirm the deal expired unanswered, once notAfter passed. */
  readonly expiry = new ExpiryStatus();

  constructor(input: CohortQueryDealInput, now: number) {
    this.status = {
      dealId: input.dealId,
      stage: 'quoted',
      buyerId: input.buyerId,
      sellerId: input.sellerId,
      templateId: input.templateId,
      templateHash: input.templateHash,
      price: input.price,
      timeline: [{ stage: 'quoted', at: now }],
    };
  }

  get stage(): DealStage {
    return this.status.stage;
  }

  snapshot(): DealStatus {
    // The workflow sandbox has no structuredClone; the status is plain JSON anyway.
    const status = JSON.parse(JSON.stringify(this.status)) as DealStatus;
    if (this.attention.needed) status.attention = this.attention.open;
    const expiry = this.expiry.view;
    if (expiry) status.expiry = expiry;
    return status;
  }

  /** Set once the coordinator has hashed the buyer's terms; no signed decision counts before. */
  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal('InvalidState', `deal ${this.status.dealId} is starting; try again in a moment`);
    return this.status.scope;
  }

  /** The buyer's notAfter passed with no answer: asking `pending` perimeters to confirm it expired. */
  awaitExpiry(notAfter: number, pending: number, now: number): void {
    this.expiry.begin(notAfter, pending, now);
    this.advance('awaiting_expiry', now);
  }

  /** A money step failed: the deal waits for the operator, with the reasons in its status. */
  needsAttention(now: number): void {
    if (this.status.stage !== 'needs_attention') this.advance('needs_attention', now);
  }

  /** Why the deal is being unwound, shown while its compensations run (and wait, if one fails). */
  recordProblem(problem: DealProblem): void {
    this.status.problem = problem;
  }

  advance(stage: DealStage, now: number): void {
    this.status.stage = stage;
    this.status.timeline.push({ stage, at: now });
  }

  deliver(result: RunApprovedQueryResult, now: number): void {
    this.status.result = result;
    this.advance('delivered', now);
  }

  /** Throws with the reason when the deal cannot be confirmed now (used as an update validator). */
  assertConfirmable(): void {
    if (this.status.stage !== 'delivered') {
      throw refusal(
        'InvalidState',
        `deal ${this.status.dealId} is ${this.status.stage}; only a delivered deal can be confirmed`,
      );
    }
  }

  confirm(by: ConfirmedBy, now: number): void {
    this.assertConfirmable();
    this.status.confirmedBy = by;
    this.advance('confirmed', now);
  }

  /** Throws with the reason when `partyId` may not open a dispute now (used as an update validator). */
  assertDisputable(partyId: string): void {
    if (partyId !== this.status.buyerId && partyId !== this.status.sellerId)
      throw refusal('Forbidden', `only the buyer or the seller of deal ${this.status.dealId} may dispute it`);
    if (this.status.stage !== 'delivered') {
      throw refusal(
        'InvalidState',
        `deal ${this.status.dealId} is ${this.status.stage}; a dispute opens only within the acceptance window`,
      );
    }
  }

  /** The reason is signed content: a string of 1 to 1000 characters, as the API takes it. */
  assertDisputeReason(reason: unknown): void {
    if (typeof reason !== 'string' || reason.length < 1 || reason.length > MAX_DISPUTE_REASON)
      throw refusal('InvalidInput', `a dispute's reason is 1 to ${MAX_DISPUTE_REASON} characters`);
  }

  openDispute(partyId: string, reason: string, workflowId: string, now: number): void {
    this.assertDisputable(partyId);
    this.assertDisputeReason(reason);
    this.status.dispute = { openedBy: partyId, reason, workflowId };
    this.advance('disputed', now);
  }

  disputeResolved(resolution: Pick<DealDispute, 'outcome' | 'resolvedBy' | 'auditRef'>): void {
    if (this.status.dispute) Object.assign(this.status.dispute, resolution);
  }

  awaitPayment(escrowAddress: string): void {
    this.status.escrow = { address: escrowAddress };
  }

  recordReceipt(receipt: { id: string; salt: string }): void {
    this.status.receipt = receipt;
  }

  get commitment(): string | undefined {
    return this.status.result?.commitment;
  }

  fail(problem: DealProblem, stage: 'refunded' | 'failed', now: number): void {
    this.status.problem = problem;
    this.advance(stage, now);
  }
}
