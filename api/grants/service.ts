import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import type { Party, PartyRegistry } from '../../lib/parties';
import { grantTotal, progressOf, type GrantStatus, type MilestoneSpec } from '../../workflows/grant/state';
import {
  approveMilestoneUpdate,
  consentRemainderUpdate,
  extendDeadlineUpdate,
  grantStatusQuery,
  milestoneGrant,
  submitEvidenceUpdate,
} from '../../workflows/grant/workflow';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { ApiError } from '../errors';
import { grantAsSeenBy } from '../redaction';
import { signedTermsOf } from '../signed-terms';
import { checkSignedMoney } from '../signed-money';
import type { CreateGrantBody } from './schemas';
import type { TemplateCatalog } from '../templates/catalog';
import { checkTemplateOrder } from '../templates/order';
import { assertAffordable } from '../settlement/affordability';
import type { PartySearch } from '../listing/party-search';
import { WorkflowCalls } from '../workflow-calls';
import { isFinalGrantStage } from '../../workflows/grant/shapes';
import { signedByParty, type DecisionProof } from '../signed-decision';
import { sha256Ref } from '../../lib/canonical-json';
import { extensionLookupKey } from '../../lib/transparency/release-entry';
import type { TransparencyLog } from '../audit/log-store';

const GRANTEE_ROLES = new Set(['buyer', 'seller', 'sponsor']);

/** Milestone grants apart from HTTP: terms checked, the workflow started, evidence stored. */
export class GrantService {
  private readonly calls: WorkflowCalls;

  constructor(
    private readonly temporal: Client,
    private readonly catalog: TemplateCatalog,
    private readonly parties: PartyRegistry,
    private readonly blobs: BlobStore,
    private readonly config: {
      feeBps: number;
      search?: PartySearch | undefined;
      /** Where accepted deadline extensions are logged, for settlement and the grantee to read. */
      log?: TransparencyLog | undefined;
    },
  ) {
    this.calls = new WorkflowCalls(temporal);
  }

  private async milestoneSpec(
    milestone: CreateGrantBody['milestones'][number],
    now: number,
  ): Promise<MilestoneSpec> {
    const deadline = Date.parse(milestone.deadline);
    if (deadline <= now)
      throw new ApiError('invalid_terms', `milestone ${milestone.milestoneId}: the deadline has passed`);
    const { check, ...rest } = milestone;
    if (check.kind === 'sponsor_approval') return { ...rest, deadline, check };
    const { entry, parameters } = await checkTemplateOrder(this.catalog, check);
    if (!entry.template.metrics.some((metric) => metric.name === check.metric)) {
      throw new ApiError(
        'invalid_terms',
        `milestone ${milestone.milestoneId}: template ${entry.template.id} has no metric ${check.metric}`,
      );
    }
    return { ...rest, deadline, check: { ...check, parameters, sellerId: entry.template.seller } };
  }

  async create(sponsor: Party, body: CreateGrantBody) {
    const grantee = this.parties.get(body.granteeId);
    if (!grantee || !GRANTEE_ROLES.has(grantee.role) || grantee.id === sponsor.id)
      throw new ApiError(
        'invalid_terms',
        `${body.granteeId} is not a registered party that can receive a grant`,
      );
    const ids = body.milestones.map((m) => m.milestoneId);
    if (new Set(ids).size !== ids.length) throw new ApiError('invalid_terms', 'milestone ids must be unique');
    const now = Date.now();
    const milestones = [];
    for (const milestone of body.milestones) milestones.push(await this.milestoneSpec(milestone, now));
    checkSignedMoney(body, this.config.feeBps);
    if (grantTotal(milestones) !== body.total)
      throw new ApiError(
        'invalid_terms',
        `the milestones add up to ${grantTotal(milestones)}, not ${body.total}`,
      );
    const terms = signedTermsOf(sponsor, 'grant', body);
    // A retried request finds its grant, whose total is already locked away from the balance.
    if (!(await this.calls.exists(grantWorkflowId(body.grantId))))
      await assertAffordable(this.temporal, sponsor.id, grantTotal(milestones), `grant ${body.grantId}`);
    const created = await this.calls.startOnce(
      milestoneGrant,
      grantWorkflowId(body.grantId),
      {
        grantId: body.grantId,
        sponsorId: sponsor.id,
        granteeId: grantee.id,
        feeBps: this.config.feeBps,
        milestones,
        terms,
      },
      this.config.search?.attributes('grant', [sponsor.id, grantee.id]),
    );
    const status = await this.status(body.grantId);
    if (!created && status.sponsorId !== sponsor.id)
      throw new ApiError('id_taken', `grant id ${body.grantId} is taken; choose another`);
    return { created, status };
  }

  status(grantId: string): Promise<GrantStatus> {
    return this.calls.query(grantWorkflowId(grantId), grantStatusQuery, `grant ${grantId}`);
  }

  /** The grant as this party may see it (api/redaction.ts). */
  async visibleStatus(party: Party, grantId: string) {
    return grantAsSeenBy(party, await this.status(grantId));
  }

  async progress(grantId: string) {
    return progressOf(await this.status(grantId));
  }

  /**
   * The grant's run, for an action on it. A finished grant's workflow has closed and cannot refuse
   * for itself: its final stage is the answer (409), never "not found". Who may act, and on which
   * milestone, is the running workflow's to say (its typed refusals).
   */
  private async openGrant(grantId: string): Promise<GrantStatus> {
    const status = await this.status(grantId);
    if (isFinalGrantStage(status.stage))
      throw new ApiError('invalid_state', `grant ${grantId} is ${status.stage}: it takes no more actions`);
    return status;
  }

  /** Evidence signed by the grantee over its blob reference; stored only once the signature checks out. */
  async submitEvidence(
    party: Party,
    grantId: string,
    milestoneId: string,
    { evidence, ...proof }: { evidence: string } & DecisionProof,
  ) {
    const { scope } = await this.openGrant(grantId);
    const bytes = Buffer.from(evidence, 'utf8');
    const content = { milestoneId, ref: sha256Ref(bytes) };
    const signed = signedByParty(party, scope, 'grant_evidence', content, proof);
    await this.blobs.put(bytes);
    const status = await this.calls.update(
      grantWorkflowId(grantId),
      submitEvidenceUpdate,
      { signed },
      `grant ${grantId}`,
    );
    return withMilestone(status, milestoneId);
  }

  async approve(party: Party, grantId: string, milestoneId: string, proof: DecisionProof) {
    const { scope } = await this.openGrant(grantId);
    const signed = signedByParty(party, scope, 'milestone_approval', { milestoneId }, proof);
    const status = await this.calls.update(
      grantWorkflowId(grantId),
      approveMilestoneUpdate,
      { signed },
      `grant ${grantId}`,
    );
    return withMilestone(status, milestoneId);
  }

  async extend(
    party: Party,
    grantId: string,
    milestoneId: string,
    { deadline, ...proof }: { deadline: string } & DecisionProof,
  ) {
    const { scope } = await this.openGrant(grantId);
    const content = { milestoneId, deadline: Date.parse(deadline) };
    const signed = signedByParty(party, scope, 'deadline_extension', content, proof);
    const status = await this.calls.update(
      grantWorkflowId(grantId),
      extendDeadlineUpdate,
      { signed },
      `grant ${grantId}`,
    );
    // Once the grant counted it, it is logged: settlement reads it there before a remainder goes back,
    // whether or not a workflow shows it the extension.
    if (scope)
      this.config.log?.logExtension(
        extensionLookupKey({ grantId: scope.subject.id, termsHash: scope.subject.termsHash }),
        signed,
      );
    return status;
  }

  /**
   * The grantee gives what it was not paid yet back to the sponsor now, signed over the amount: the
   * grant ends, and settlement returns the remainder before the deadlines only on that signature.
   */
  async consentRemainder(
    party: Party,
    grantId: string,
    { amount, ...proof }: { amount: string } & DecisionProof,
  ) {
    const { scope } = await this.openGrant(grantId);
    const signed = signedByParty(party, scope, 'remainder_consent', { amount }, proof);
    return this.calls.update(
      grantWorkflowId(grantId),
      consentRemainderUpdate,
      { signed },
      `grant ${grantId}`,
    );
  }
}

/** The grant after a decision, with the milestone decided named and what its tranche paid so far. */
function withMilestone(status: GrantStatus, milestoneId: string) {
  const milestone = status.milestones.find((each) => each.milestoneId === milestoneId);
  // The workflow refuses a decision on a milestone it does not have, so this is its own answer.
  if (!milestone) throw new ApiError('not_found', `grant ${status.grantId} has no milestone ${milestoneId}`);
  return {
    ...status,
    milestone: {
      milestoneId,
      name: milestone.name,
      check: milestone.check.kind,
      stage: milestone.stage,
      amount: milestone.amount,
      paid: milestone.stage === 'released' ? milestone.amount : '0',
    },
  };
}
