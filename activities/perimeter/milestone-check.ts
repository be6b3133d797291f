import { log } from '@temporalio/activity';
import { canonicalHash } from '../../lib/canonical-json';
import type { MetricSpec, ParameterValues, QueryTemplate } from '../../query-policies/template';
import type { ApprovedQuery } from './approved-template';
import { cohortTotalSql, TOTAL_COLUMN } from '../../query-policies/cohort-sql';
import { drawThresholdNoise, isAboveThreshold } from './dp/above-threshold';
import type { RandomSource } from './dp/random-source';
import {
  MilestoneChecksExhaustedError,
  MilestoneTermsConflictError,
  type MilestoneRunKey,
  type MilestoneRuns,
} from './milestone-runs';
import type { SignedTerms } from '../../lib/signed-terms';
import type { PerimeterCheck } from '../../workflows/grant/shapes';
import { authorizeMilestoneTerms, requireRegisteredSigner } from './deal-terms';
import type { RegisteredKeys } from '../../lib/key-log';
import { refuse } from './refusal';
import type { SandboxPool } from './sandbox-pool';
import type { ReleaseToSign } from './release-signing';
import type { ReleaseStatement } from '../../lib/release-statement';
import { runInSandbox } from './sandboxed-run';
import { milestoneChargeId } from '../../lib/ids/run-ids';

/** The milestone's query as the sponsor signed it (its template hash pinned when the milestone was set). */
export type CheckMilestoneInput = PerimeterCheck & {
  grantId: string;
  milestoneId: string;
  /** Which check of the milestone this is (e.g. its evidence count): a retry carries the same id. */
  checkId: string;
  /** The grant terms its sponsor signed: the check runs only as signed there. */
  terms: SignedTerms;
};

/** Only the noisy verdict leaves the perimeter, never the value. */
export interface CheckMilestoneResult {
  met: boolean;
  /** sha256 of what was checked and the verdict (no value): lets an audit tie the verdict to the check. */
  statementHash: string;
  /**
   * The perimeter's signed statement of the verdict (kind `milestone_verdict`, committing to
   * `statementHash`): the grant carries it so the sponsor and auditors can check it.
   */
  release?: ReleaseStatement;
}

/**
 * Prepares the charge of a milestone run's ε to the sponsor's and the dataset's budgets (reading the
 * signed dataset policy may wait); the returned function charges synchronously, once per run, inside
 * the check's claim.
 */
export type ChargeMilestone = (charge: {
  chargeId: string;
  /** The grant terms' nonce: the charge's entry in the privacy ledger is keyed by it beside the id. */
  nonce: string;
  termsHash: string;
  payerId: string;
  template: QueryTemplate;
  epsilon: number;
}) => Promise<() => void>;

/** How far one person moves the cohort total: 1 for a count, the bound for a clamped sum. */
function sensitivityOf(template: QueryTemplate, metric: MetricSpec): number {
  switch (metric.aggregate) {
    case 'count_units':
      return 1;
    case 'sum':
      return Math.ceil(Math.max(Math.abs(metric.min), Math.abs(metric.max)));
    case 'avg':
      refuse(
        'InvalidParameters',
        `milestones check counts or sums; ${metric.name} of ${template.id} is an average`,
      );
  }
}

/**
 * A sponsor's threshold on an approved aggregate, decided inside the seller's perimeter by a noisy
 * comparison (AboveThreshold): each milestone is one sparse-vector run, its ε charged to the
 * sponsor's and the dataset's budgets at the first check, met or not; the run answers at most the
 * template's maxChecks checks and stops at the first "met". Only that one bit per check leaves.
 */
export function createMilestoneCheckActivities(deps: {
  approve: (input: {
    templateId: string;
    templateHash: string;
    parameters: ParameterValues;
  }) => Promise<ApprovedQuery>;
  sandboxes: SandboxPool;
  queryTimeoutMs: number;
  runs: MilestoneRuns;
  charge: ChargeMilestone;
  random: RandomSource;
  keys: RegisteredKeys;
  sign: (release: ReleaseToSign) => Promise<ReleaseStatement>;
}) {
  /** Claims one check of the run in one transaction; refusals carry the reason. */
  function claimCheck(key: MilestoneRunKey, checkId: string, limits: Parameters<MilestoneRuns['claim']>[2]) {
    try {
      return deps.runs.claim(key, checkId, limits);
    } catch (error) {
      if (error instanceof MilestoneTermsConflictError) refuse('TermsConflict', error.message);
      if (error instanceof MilestoneChecksExhaustedError) refuse('MilestoneChecksExhausted', error.message);
      throw error;
    }
  }

  async function checkMilestone(input: CheckMilestoneInput): Promise<CheckMilestoneResult> {
    // The sponsor's verified key pays: never an id that merely arrived through Temporal.
    const { buyerId: payer, termsHash, nonce } = authorizeMilestoneTerms(input);
    await requireRegisteredSigner(input.terms, deps.keys);
    const { template, parameters } = await deps.approve(input);
    const statement = (met: boolean) =>
      canonicalHash({
        grantId: input.grantId,
        milestoneId: input.milestoneId,
        checkId: input.checkId,
        templateId: input.templateId,
        templateHash: input.templateHash,
        parameters,
        metric: input.metric,
        threshold: input.threshold,
        met,
      });
    const allowed = template.milestones;
    if (!allowed) refuse('MilestoneNotAllowed', `template ${template.id} does not allow milestone checks`);
    const metric = template.metrics.find((m) => m.name === input.metric);
    if (!metric) {
      refuse(
        'InvalidParameters',
        `template ${template.id} has no metric ${input.metric}; it has ${template.metrics.map((m) => m.name).join(', ')}`,
      );
    }
    const sensitivity = sensitivityOf(template, metric);
    const key: MilestoneRunKey = {
      grantId: input.grantId,
      nonce,
      milestoneId: input.milestoneId,
      termsHash,
      payer,
    };
    const charge = await deps.charge({
      chargeId: milestoneChargeId(input.grantId, input.milestoneId),
      nonce,
      termsHash,
      payerId: payer,
      template,
      epsilon: allowed.epsilon,
    });
    // From here to the claim nothing waits: verdict, halt, limit and charge are one transaction.
    // The run's ε is charged before any data is read, met or not; its later checks are paid by it.
    const claim = claimCheck(key, input.checkId, {
      maxChecks: allowed.maxChecks,
      drawThresholdNoise: () => drawThresholdNoise(deps.random, sensitivity, allowed.epsilon),
      charge,
    });
    /** Every verdict, fresh or repeated, under the perimeter's key; ε is the run's, charged once. */
    const released = async (met: boolean): Promise<CheckMilestoneResult> => {
      const statementHash = statement(met);
      const release = await deps.sign({
        kind: 'milestone_verdict',
        dealId: input.grantId,
        subject: { milestoneId: input.milestoneId, checkId: input.checkId, met },
        terms: input.terms,
        commitment: statementHash,
        epsilonSpent: allowed.epsilon,
        deltaCharged: 0,
        template,
      });
      return { met, statementHash, release };
    };
    if (claim.kind === 'answered') return released(claim.met);
    const [row] = await runInSandbox(
      deps.sandboxes,
      template,
      cohortTotalSql(template, metric),
      parameters,
      deps.queryTimeoutMs,
    );
    const total = BigInt(Math.round(Number(row?.[TOTAL_COLUMN] ?? 0)));
    const computed = isAboveThreshold(
      deps.random,
      total,
      input.threshold,
      claim.run.thresholdNoise,
      sensitivity,
      allowed.epsilon,
    );
    const met = deps.runs.record(key, input.checkId, computed);
    log.info('milestone checked', { grantId: input.grantId, milestoneId: input.milestoneId, met });
    return released(met);
  }

  return { checkMilestone };
}

export type MilestoneCheckActivities = ReturnType<typeof createMilestoneCheckActivities>;
