import type { ReleaseStatement } from '../../lib/release-statement';
import type { DealCompliance } from '../../query-policies/compliance';
import { SettlementAttention, type AttentionItem } from '../settlement-attention';
import type { SignedTerms } from '../../lib/signed-terms';
import type { DealProblem, DealStage } from '../deal/shapes';
import { refusal } from '../refusals';
import type { DecisionScope } from '../../lib/decision-statement';

export interface SellerShare {
  sellerId: string;
  /** The hash of this seller's own signed copy of the template. */
  templateHash: string;
  /** This seller's price: its share of the deal price, paid to it alone. */
  price: string;
}

export interface MultiSellerDealInput {
  dealId: string;
  buyerId: string;
  templateId: string;
  sellers: SellerShare[];
  parameters: Record<string, string | number>;
  /** Blob reference of the buyer's HE key document. */
  heKeyRef: string;
  compliance: DealCompliance;
  feeBps: number;
  acceptanceTimeoutMs: number;
  /** The buyer's signed terms: each seller's perimeter verifies them. */
  terms: SignedTerms;
}

export interface MultiSellerDealStatus {
  dealId: string;
  stage: DealStage;
  buyerId: string;
  sellerIds: string[];
  templateId: string;
  /** What the buyer pays: the sum of the contributing sellers' prices. */
  price: string;
  /** Sellers whose perimeter accepted the deal; only they are paid. */
  contributors: string[];
  result?: {
    resultRef: string;
    commitment: string;
    contributors: number;
    /** Each contributing seller's perimeter's signed statement of the contribution it released. */
    releases?: ReleaseStatement[];
  };
  confirmedBy?: 'buyer' | 'acceptance_timer';
  /** What the buyer's confirmation is signed over: this run, the deal, its terms. */
  scope?: DecisionScope;
  /** Where the buyer pays each contributing seller's share, once that share's escrow is open. */
  escrows?: { sellerId: string; address: string; amount: string }[];
  /** Money steps that failed and wait for an operator's retry. */
  attention?: AttentionItem[];
  problem?: DealProblem;
  timeline: { stage: DealStage; at: number }[];
}

/** Settlement keys each seller's share by its own escrow, so paying one never touches another's. */

export const MIN_CONTRIBUTORS = 2;

/** The multi-seller deal's state and rules, free of Temporal. */
export class MultiSellerDealState {
  private readonly status: MultiSellerDealStatus;
  readonly attention = new SettlementAttention();

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
    return status;
  }

  awaitShare(sellerId: string, address: string, amount: string): void {
    this.status.escrows = [...(this.status.escrows ?? []), { sellerId, address, amount }];
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

  confirm(by: 'buyer' | 'acceptance_timer', now: number): void {
    this.assertConfirmable();
    this.status.confirmedBy = by;
    this.advance('confirmed', now);
  }

  fail(problem: DealProblem, stage: 'refunded' | 'failed', now: number): void {
    this.status.problem = problem;
    this.advance(stage, now);
  }
}
