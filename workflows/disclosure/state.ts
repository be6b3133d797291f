import { agreedDecision, assertMayVote, castVote, type Voter } from '../approvals';
import type { AuditEvent } from '../audit-event';
import type { DecisionScope } from '../../lib/decision-statement';
import { refusal } from '../refusals';
import type {
  DisclosableField,
  DisclosureDecision,
  DisclosureInput,
  DisclosureStage,
  DisclosureStatus,
} from './shapes';

export {
  DISCLOSABLE_FIELDS,
  type DisclosableField,
  type DisclosureDecision,
  type DisclosureExport,
  type DisclosureInput,
  type DisclosureStage,
  type DisclosureStatus,
  type DisclosureView,
} from './shapes';

/** What a compliance principal signs: the decision, bound to the fields shown and the auditor shown them. */
export interface DisclosureDecisionContent {
  decision: DisclosureDecision;
  fields: DisclosableField[];
  auditorId: string;
}

export const DEFAULT_DISCLOSURE_APPROVAL_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_DISCLOSURE_VIEW_MS = 24 * 60 * 60 * 1000;

/**
 * A disclosure's rules: two distinct principals approve (any one may deny), the auditor who asked
 * may then view the fields until the view expires, and every step is recorded.
 */
export class DisclosureState {
  private readonly status: DisclosureStatus;
  changes = 0;

  constructor(input: DisclosureInput, scope: DecisionScope | undefined, now: number) {
    this.status = {
      disclosureId: input.disclosureId,
      dealId: input.dealId,
      auditorId: input.auditorId,
      reason: input.reason,
      fields: input.fields,
      ...(scope ? { scope } : {}),
      stage: 'pending',
      requestedAt: now,
      decideBy: now + input.approvalTimeoutMs,
      decisions: [],
      views: [],
      audit: [],
    };
    this.record(now, 'requested', input.auditorId, {
      dealId: input.dealId,
      fields: input.fields.join(','),
      reason: input.reason,
    });
  }

  setScope(scope: DecisionScope): void {
    this.status.scope = scope;
    this.changes += 1;
  }

  get scope(): DecisionScope {
    if (!this.status.scope)
      throw refusal(
        'InvalidState',
        `disclosure ${this.status.disclosureId} is starting (checking the deal's terms); try again`,
      );
    return this.status.scope;
  }

  get stage(): DisclosureStage {
    return this.status.stage;
  }

  get finished(): boolean {
    return this.stage === 'denied' || this.stage === 'lapsed' || this.stage === 'expired';
  }

  snapshot(): DisclosureStatus {
    return JSON.parse(JSON.stringify(this.status)) as DisclosureStatus;
  }

  private record(at: number, action: string, by: string, detail?: AuditEvent['detail']): void {
    this.status.audit.push(detail ? { at, action, by, detail } : { at, action, by });
    this.changes += 1;
  }

  /** Without a key: the check before the signature is verified; with one: before it counts. */
  assertCanDecide(voter: Pick<Voter, 'principal'> & Partial<Voter>, decision: DisclosureDecision): void {
    if (decision !== 'approve' && decision !== 'deny')
      throw refusal('InvalidInput', 'a disclosure decision is approve or deny');
    if (this.stage !== 'pending')
      throw refusal('InvalidState', `disclosure ${this.status.disclosureId} is ${this.stage}`);
    if (voter.principal === this.status.auditorId)
      throw refusal('Forbidden', 'the auditor who asked cannot approve');
    assertMayVote(this.status.decisions, voter, decision, String);
  }

  /**
   * Records a verified decision: two approvals under distinct keys open the view; one denial ends it.
   * While it is pending, a principal may change its decision (an approval to a denial).
   */
  decide(voter: Voter, decision: DisclosureDecision, viewMs: number, now: number): void {
    this.assertCanDecide(voter, decision);
    const cast = castVote(this.status.decisions, { ...voter, decision, at: now });
    this.status.decisions = cast.votes;
    this.record(now, decision === 'approve' ? 'approved' : 'denied', voter.principal);
    if (decision === 'deny') {
      this.status.stage = 'denied';
    } else if (agreedDecision(this.status.decisions, String) === 'approve') {
      this.status.stage = 'approved';
      this.status.viewUntil = now + viewMs;
      this.record(now, 'view_opened', 'approvals', { viewUntil: now + viewMs });
    }
  }

  /** Throws unless `viewer` is the auditor who asked, the view is open at `now` and the nonce is fresh. */
  assertCanView(viewer: string, now: number, nonce?: string): void {
    if (nonce !== undefined && this.status.views.some((view) => view.nonce === nonce))
      throw refusal('InvalidState', 'this signed view was used already: each view is signed afresh');
    if (viewer !== this.status.auditorId)
      throw refusal('Forbidden', `only ${this.status.auditorId}, who asked, may view this disclosure`);
    if (this.stage === 'expired' || (this.status.viewUntil !== undefined && now >= this.status.viewUntil))
      throw refusal('AccessExpired', `the view of disclosure ${this.status.disclosureId} has expired`);
    if (this.stage !== 'approved')
      throw refusal('InvalidState', `disclosure ${this.status.disclosureId} is ${this.stage}`);
  }

  recordView(viewer: string, valuesHash: string, nonce: string, now: number): void {
    this.assertCanView(viewer, now, nonce);
    this.status.views.push({ viewer, at: now, fields: this.status.fields, valuesHash, nonce });
    this.record(now, 'viewed', viewer, { fields: this.status.fields.join(','), valuesHash });
  }

  /** Throws unless `viewer` may export now under a signed export whose nonce was not used yet. */
  assertCanExport(viewer: string, now: number, nonce: string): void {
    if ((this.status.exports ?? []).some((e) => e.nonce === nonce))
      throw refusal('InvalidState', 'this signed export was used already: each export is signed afresh');
    this.assertCanView(viewer, now);
  }

  /**
   * An audit bundle exported under this disclosure: recorded in the audit trail and in `exports`.
   * `nonce` is the auditor's signed export's; runs from before exports were signed recorded none.
   */
  recordBundleExport(viewer: string, valuesHash: string, now: number, nonce?: string): void {
    if (nonce === undefined) this.assertCanView(viewer, now);
    else {
      this.assertCanExport(viewer, now, nonce);
      this.status.exports = [...(this.status.exports ?? []), { viewer, at: now, valuesHash, nonce }];
    }
    this.record(now, 'bundle_exported', viewer, { fields: this.status.fields.join(','), valuesHash });
  }

  /** When time next changes something: the decision deadline, or the end of the view. */
  nextDeadline(): number | undefined {
    if (this.stage === 'pending') return this.status.decideBy;
    if (this.stage === 'approved') return this.status.viewUntil;
    return undefined;
  }

  tick(now: number): void {
    if (this.stage === 'pending' && now >= this.status.decideBy) {
      this.status.stage = 'lapsed';
      this.record(now, 'lapsed', 'timer');
    } else if (this.stage === 'approved' && now >= (this.status.viewUntil ?? 0)) {
      this.status.stage = 'expired';
      this.record(now, 'view_expired', 'timer');
    }
  }

  recordAuditRef(ref: string): void {
    this.status.auditRef = ref;
  }
}
