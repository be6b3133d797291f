import type { ReleaseStatement } from '../../lib/release-statement';
import { SettlementAttention, type AttentionItem } from '../settlement-attention';
import type { DecisionScope } from '../../lib/decision-statement';
import { refusal } from '../refusals';
import {
  isFinalGrantStage,
  type ApproveMilestoneRequest,
  type ConsentRemainderRequest,
  type ExtendDeadlineRequest,
  type GrantStage,
  type MilestoneGrantInput,
  type MilestoneSpec,
  type MilestoneStage,
} from './shapes';
import type { TrancheProof } from '../../activities/settlement/tranche-proof';

/**
 * Each submission is kept in the grant's state and history for the grant's whole life (months),
 * and a failed check lets the grantee try again: the tries are bounded.
 */
export const GRANT_LIMITS = { evidencePerMilestone: 20 } as const;

export type { MilestoneCheck, MilestoneStage, GrantStage } from './shapes';

export type { MilestoneSpec, MilestoneGrantInput } from './shapes';

export interface MilestoneStatus extends MilestoneSpec {
  stage: MilestoneStage;
  evidence: { ref: string; at: number }[];
  lastCheck?: {
    met: boolean;
    statementHash?: string;
    /** The seller's perimeter's signed statement of the verdict: the sponsor and auditors check it. */
    release?: ReleaseStatement;
    problem?: string;
    at: number;
  };
  releasedAt?: number;
}

export interface GrantStatus {
  grantId: string;
  sponsorId: string;
  granteeId: string;
  stage: GrantStage;
  total: string;
  /** What evidence, approvals and extensions are signed over; absent only while the grant starts. */
  scope?: DecisionScope;
  milestones: MilestoneStatus[];
  /** What went back to the sponsor when the grant closed. */
  refunded?: string;
  /** Where the sponsor pays the total, from its own wallet, once the grant's escrow is open. */
  escrow?: { address: string };
  /** Payouts that failed and wait for an operator's retry. */
  attention?: AttentionItem[];
  problem?: { code: string; reason: string };
  /**
   * The sponsor's signed extensions, shown to the grant's parties so the grantee can check each is in
   * the transparency log, where settlement reads them (tusk sponsor grant extensions).
   */
  extensions?: ExtendDeadlineRequest['signed'][];
}

/** The public view: aggregates only; no amounts, no identities. */
export interface GrantProgress {
  grantId: string;
  stage: GrantStage;
  milestonesMet: number;
  milestonesTotal: number;
  percentMet: number;
}

export function grantTotal(milestones: Pick<MilestoneSpec, 'amount'>[]): string {
  return milestones.reduce((sum, m) => sum + BigInt(m.amount), 0n).toString();
}

export function progressOf(status: GrantStatus): GrantProgress {
  const met = status.milestones.filter((m) => m.stage === 'met' || m.stage === 'released').length;
  const total = status.milestones.length;
  return {
    grantId: status.grantId,
    stage: status.stage,
    milestonesMet: met,
    milestonesTotal: total,
    percentMet: total === 0 ? 0 : Math.round((100 * met) / total),
  };
}

/** A milestone grant's state and rules: evidence, checks, approvals, deadlines, extensions. */
export class GrantState {
  private readonly status: GrantStatus;
  readonly attention = new SettlementAttention();
  /** The sponsor's signed approvals, by milestone: settlement pays an approval milestone only on one. */
  private readonly approvals = new Map<string, ApproveMilestoneRequest['signed']>();
  /** The sponsor's signed extensions: settlement keeps the remainder until the latest deadline signed. */
  private readonly extensions: ExtendDeadlineRequest['signed'][] = [];
  /** The grantee's signed consent to give the unpaid remainder back before the deadlines. */
  private remainderConsent: ConsentRemainderRequest['signed'] | undefined;
  changes = 0;

  constructor(input: MilestoneGrantInput) {
    this.status = {
      grantId: input.grantId,
      sponsorId: input.sponsorId,
      granteeId: input.granteeId,
      stage: 'funding',
      total: grantTotal(input.milestones),
      milestones: input.milestones.map((m) => ({ ...m, stage: 'open', evidence: [] })),
    };
  }

  get stage(): GrantStage {
    return this.status.stage;
  }

  snapshot(): GrantStatus {
    const status = JSON.parse(JSON.stringify(this.status)) as GrantStatus;
    if (this.attention.needed) status.attention = this.attention.open;
    if (this.extensions.length > 0)
      status.extensions = JSON.parse(JSON.stringify(this.extensions)) as typeof this.extensions;
    return status;
  }

  /** Set once the coordinator has hashed the sponsor's terms; no decision counts before. */
  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
    this.changed();
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal('InvalidState', `grant ${this.status.grantId} is starting; try again`);
    return this.status.scope;
  }

  awaitFunding(address: string): void {
    this.status.escrow = { address };
    this.changed();
  }

  private changed(): void {
    this.changes += 1;
  }

  funded(): void {
    this.status.stage = 'active';
    this.changed();
  }

  fundingFailed(problem: { code: string; reason: string }): void {
    this.status.stage = 'failed';
    this.status.problem = problem;
    this.changed();
  }

  private milestone(milestoneId: string): MilestoneStatus {
    const milestone = this.status.milestones.find((m) => m.milestoneId === milestoneId);
    if (!milestone) throw refusal('NotFound', `grant ${this.status.grantId} has no milestone ${milestoneId}`);
    return milestone;
  }

  private openMilestone(milestoneId: string, now: number): MilestoneStatus {
    if (this.stage !== 'active')
      throw refusal('InvalidState', `grant ${this.status.grantId} is ${this.stage}`);
    const milestone = this.milestone(milestoneId);
    if (milestone.stage !== 'open')
      throw refusal('InvalidState', `milestone ${milestoneId} is ${milestone.stage}`);
    if (now >= milestone.deadline)
      throw refusal('InvalidState', `milestone ${milestoneId} is past its deadline`);
    return milestone;
  }

  assertCanSubmitEvidence(by: string, milestoneId: string, now: number): void {
    if (by !== this.status.granteeId) throw refusal('Forbidden', 'only the grantee submits evidence');
    this.openMilestone(milestoneId, now);
  }

  /** Checked by the update's validator only: a handler must accept again what it accepted before. */
  assertRoomForEvidence(milestoneId: string): void {
    if (this.milestone(milestoneId).evidence.length >= GRANT_LIMITS.evidencePerMilestone)
      throw refusal(
        'InvalidState',
        `milestone ${milestoneId} has had evidence submitted ${GRANT_LIMITS.evidencePerMilestone} times, the most allowed`,
      );
  }

  /** Evidence for a query-verified milestone queues its check in the perimeter. */
  submitEvidence(by: string, milestoneId: string, ref: string, now: number): void {
    this.assertCanSubmitEvidence(by, milestoneId, now);
    const milestone = this.milestone(milestoneId);
    milestone.evidence.push({ ref, at: now });
    if (milestone.check.kind === 'query') milestone.stage = 'checking';
    this.changed();
  }

  assertCanApprove(by: string, milestoneId: string, now: number): void {
    if (by !== this.status.sponsorId) throw refusal('Forbidden', 'only the sponsor approves a milestone');
    const milestone = this.openMilestone(milestoneId, now);
    if (milestone.check.kind !== 'sponsor_approval')
      throw refusal('InvalidInput', `milestone ${milestoneId} is verified by a query, not by approval`);
    if (milestone.evidence.length === 0)
      throw refusal(
        'InvalidState',
        `milestone ${milestoneId} has no evidence yet: the grantee submits it before it is approved`,
      );
  }

  /** Whether the grant has closed: its stage is final, and every action is refused with it. */
  get finished(): boolean {
    return isFinalGrantStage(this.stage);
  }

  approve(by: string, milestoneId: string, now: number, signed: ApproveMilestoneRequest['signed']): void {
    this.assertCanApprove(by, milestoneId, now);
    this.milestone(milestoneId).stage = 'met';
    this.approvals.set(milestoneId, signed);
    this.changed();
  }

  /** What settlement is shown to pay a met milestone: the seller's signed verdict or the sponsor's approval. */
  trancheProof(milestoneId: string): TrancheProof {
    const milestone = this.milestone(milestoneId);
    if (milestone.check.kind === 'query') return { kind: 'verdict', release: milestone.lastCheck?.release };
    const signed = this.approvals.get(milestoneId);
    return signed ? { kind: 'approval', signed } : { kind: 'approval' };
  }

  /**
   * Settlement refused to pay the tranche on what the milestone was met with (a verdict the seller did
   * not sign, an approval not the sponsor's): it is not met, and opens again until its deadline.
   */
  trancheRefused(milestoneId: string, problem: { code: string }, now: number): void {
    const milestone = this.milestone(milestoneId);
    milestone.stage = 'open';
    milestone.lastCheck = { ...milestone.lastCheck, met: false, problem: problem.code, at: now };
    this.approvals.delete(milestoneId);
    this.changed();
  }

  assertCanExtend(by: string, milestoneId: string, deadline: number, now: number): void {
    if (by !== this.status.sponsorId) throw refusal('Forbidden', 'only the sponsor extends a deadline');
    if (this.stage !== 'active')
      throw refusal('InvalidState', `grant ${this.status.grantId} is ${this.stage}`);
    const milestone = this.milestone(milestoneId);
    if (milestone.stage !== 'open' && milestone.stage !== 'checking')
      throw refusal('InvalidState', `milestone ${milestoneId} is ${milestone.stage}`);
    if (now >= milestone.deadline)
      throw refusal('InvalidState', `milestone ${milestoneId} is past its deadline`);
    if (deadline <= milestone.deadline)
      throw refusal('InvalidInput', 'an extension must move the deadline later');
  }

  extend(
    by: string,
    milestoneId: string,
    deadline: number,
    now: number,
    signed?: ExtendDeadlineRequest['signed'],
  ): void {
    this.assertCanExtend(by, milestoneId, deadline, now);
    this.milestone(milestoneId).deadline = deadline;
    if (signed) this.extensions.push(signed);
    this.changed();
  }

  /** What settlement is shown with the remainder: the sponsor's extensions, and the grantee's consent. */
  remainderDecisions(): {
    extensions?: ExtendDeadlineRequest['signed'][];
    consent?: ConsentRemainderRequest['signed'];
  } {
    return {
      ...(this.extensions.length ? { extensions: [...this.extensions] } : {}),
      ...(this.remainderConsent ? { consent: this.remainderConsent } : {}),
    };
  }

  /** What is not paid to the grantee yet: what a consent to an early remainder gives back. */
  get unreleased(): string {
    const left = this.status.milestones.filter((m) => m.stage !== 'released');
    return left.reduce((sum, m) => sum + BigInt(m.amount), 0n).toString();
  }

  assertCanConsentToRemainder(by: string, amount: string): void {
    if (by !== this.status.granteeId)
      throw refusal('Forbidden', "only the grantee gives the grant's remainder back early");
    if (this.stage !== 'active')
      throw refusal('InvalidState', `grant ${this.status.grantId} is ${this.stage}`);
    if (this.remainderConsent) throw refusal('InvalidState', 'the grantee already gave the remainder back');
    // Settlement is shown exactly the unpaid amount signed: nothing may be paid between.
    if (this.status.milestones.some((m) => m.stage === 'met' || m.stage === 'checking'))
      throw refusal('InvalidState', 'a milestone is being checked or paid; sign again once it is done');
    if (amount !== this.unreleased)
      throw refusal('InvalidInput', `the remainder is ${this.unreleased}, not ${amount}`);
  }

  consentToRemainder(by: string, signed: ConsentRemainderRequest['signed']): void {
    this.assertCanConsentToRemainder(by, signed.statement.content.amount);
    this.remainderConsent = signed;
    this.changed();
  }

  /** Whether the grantee gave the remainder back: the grant ends now. */
  get remainderConsented(): boolean {
    return this.remainderConsent !== undefined;
  }

  /** Query-verified milestones whose evidence is in and whose check has not run yet. */
  toCheck(): MilestoneStatus[] {
    return this.snapshot().milestones.filter((m) => m.stage === 'checking');
  }

  /** A check counts even if it finishes after the deadline: the evidence came in time. */
  recordCheck(
    milestoneId: string,
    check: { met: boolean; statementHash?: string; release?: ReleaseStatement; problem?: string },
    now: number,
  ): void {
    const milestone = this.milestone(milestoneId);
    milestone.lastCheck = { ...check, at: now };
    milestone.stage = check.met ? 'met' : 'open';
    this.changed();
  }

  toRelease(): MilestoneStatus[] {
    return this.snapshot().milestones.filter((m) => m.stage === 'met');
  }

  released(milestoneId: string, now: number): void {
    const milestone = this.milestone(milestoneId);
    milestone.stage = 'released';
    milestone.releasedAt = now;
    this.changed();
  }

  /** Open milestones past their deadline are missed; returns whether any is. */
  expireDeadlines(now: number): boolean {
    for (const m of this.status.milestones) if (m.stage === 'open' && now >= m.deadline) m.stage = 'missed';
    return this.status.milestones.some((m) => m.stage === 'missed');
  }

  /** The earliest deadline still able to pass, if any. */
  nextDeadline(): number | undefined {
    const open = this.status.milestones.filter((m) => m.stage === 'open').map((m) => m.deadline);
    return open.length ? Math.min(...open) : undefined;
  }

  get allReleased(): boolean {
    return this.status.milestones.every((m) => m.stage === 'released');
  }

  /** Closes the grant: after a missed deadline the rest is void, and the remainder went back. */
  close(refunded: string): void {
    const missed = this.remainderConsented || this.status.milestones.some((m) => m.stage === 'missed');
    for (const m of this.status.milestones)
      if (m.stage === 'open' || m.stage === 'checking') m.stage = 'void';
    this.status.refunded = refunded;
    this.status.stage = missed ? 'ended' : 'completed';
    this.changed();
  }
}
