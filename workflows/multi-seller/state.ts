import { SettlementAttention } from '../settlement-attention';
import { ExpiryStatus } from '../expiry-status';
import type { ConfirmedBy, DealProblem, DealStage } from '../deal/shapes';
import type { MultiSellerDealInput, MultiSellerDealStatus, SellerShare } from './shapes';
import { refusal } from '../refusals';
import type { DecisionScope } from '../../lib/decision-statement';

/** The multi-seller deal's state and rules, free of Temporal. */
export class MultiSellerDealState {
  private readonly status: MultiSellerDealStatus;
  readonly attention = new SettlementAttention();
  /** The wait for the perimeter(s) to confirm the deal expired unanswered, once notAfter passed. */
  readonly expiry = new ExpiryStatus();

  constructor(input: MultiSellerDealInput, now: number) {
    this.status = {
      dealId: input.dealId,
      stage: 'quoted',
      buyerId: input.buyerId,
      sellerIds: input.sellers.map((seller) => seller.sellerId),
      templateId: input.templateId,
      price: '0',
      contributors: [],
      timeline: [{ stage: 'quoted', at: now }],
    };
  }

  get stage(): DealStage {
    return this.status.stage;
  }

  snapshot(): MultiSellerDealStatus {
    const status = JSON.parse(JSON.stringify(this.status)) as MultiSellerDealStatus;
    if (this.attention.needed) status.attention = this.attention.open;
    const expiry = this.expiry.view;
    if (expiry) status.expiry = expiry;
    return status;
  }

  awaitShare(sellerId: string, address: string, amount: string): void {
    this.status.escrows = [...(this.status.escrows ?? []), { sellerId, address, amount }];
  }

  /** The buyer's notAfter passed with no answer: asking `pending` perimeters to confirm it expired. */
  awaitExpiry(notAfter: number, pending: number, now: number): void {
    this.expiry.begin(notAfter, pending, now);
    this.advance('awaiting_expiry', now);
  }

  needsAttention(now: number): void {
    if (this.status.stage !== 'needs_attention') this.advance('needs_attention', now);
  }

  recordProblem(problem: DealProblem): void {
    this.status.problem = problem;
  }

  advance(stage: DealStage, now: number): void {
    this.status.stage = stage;
    this.status.timeline.push({ stage, at: now });
  }

  setContributors(shares: SellerShare[]): void {
    this.status.contributors = shares.map((share) => share.sellerId);
    this.status.price = shares.reduce((total, share) => total + BigInt(share.price), 0n).toString();
  }

  deliver(result: NonNullable<MultiSellerDealStatus['result']>, now: number): void {
    this.status.result = result;
    this.advance('delivered', now);
  }

  /** Set once the coordinator has hashed the buyer's terms; no confirmation counts before. */
  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal('InvalidState', `deal ${this.status.dealId} is starting; try again in a moment`);
    return this.status.scope;
  }

  assertConfirmable(): void {
    if (this.status.stage !== 'delivered')
      throw refusal(
        'InvalidState',
        `deal ${this.status.dealId} is ${this.status.stage}; only a delivered deal can be confirmed`,
      );
  }

  confirm(by: ConfirmedBy, now: number): void {
    this.assertConfirmable();
    this.status.confirmedBy = by;
    this.advance('confirmed', now);
  }

  fail(problem: DealProblem, stage: 'refunded' | 'failed', now: number): void {
    this.status.problem = problem;
    this.advance(stage, now);
  }
}
