import { log } from '@temporalio/activity';
import { canonicalHash } from '../../lib/canonical-json';
import type { ParameterValues } from '../../query-policies/template';
import type { ApprovedQuery } from './approved-template';
import type { SignedTerms } from '../../lib/signed-terms';
import { authorizeMilestoneCheck } from './deal-terms';
import { refuse } from './refusal';
import type { SandboxPool } from './sandbox-pool';
import { runInSandbox } from './sandboxed-run';
import { cohortTotalSql, TOTAL_COLUMN, UNITS_COLUMN } from './cohort-sql';

export interface CheckMilestoneInput {
  grantId: string;
  milestoneId: string;
  templateId: string;
  /** The hash the grant pinned when the sponsor set the milestone. */
  templateHash: string;
  parameters: ParameterValues;
  /** One of the template's metrics, taken over the whole cohort. */
  metric: string;
  /** Met when the metric reaches it (≥). */
  threshold: number;
  /** The grant terms its sponsor signed: the check runs only as signed there. */
  terms: SignedTerms;
}

/** Only the verdict leaves the perimeter, never the value. */
export interface CheckMilestoneResult {
  met: boolean;
  /** sha256 of what was checked and the verdict (no value): lets an audit tie the verdict to the check. */
  statementHash: string;
}

/**
 * A sponsor's threshold on an approved aggregate, checked inside the seller's perimeter. A cohort
 * smaller than the template's k never meets a threshold, so a check cannot probe small groups.
 */
export function createMilestoneCheckActivities(deps: {
  approve: (input: {
    templateId: string;
    templateHash: string;
    parameters: ParameterValues;
  }) => Promise<ApprovedQuery>;
  sandboxes: SandboxPool;
  queryTimeoutMs: number;
}) {
  async function checkMilestone(input: CheckMilestoneInput): Promise<CheckMilestoneResult> {
    authorizeMilestoneCheck(input);
    const { template, parameters } = await deps.approve(input);
    const metric = template.metrics.find((m) => m.name === input.metric);
    if (!metric) {
      refuse(
        'InvalidParameters',
        `template ${template.id} has no metric ${input.metric}; it has ${template.metrics.map((m) => m.name).join(', ')}`,
      );
    }
    const [row] = await runInSandbox(
      deps.sandboxes,
      template.dataset,
      cohortTotalSql(template, metric),
      parameters,
      deps.queryTimeoutMs,
    );
    const units = Number(row?.[UNITS_COLUMN] ?? 0);
    const total = Number(row?.[TOTAL_COLUMN] ?? 0);
    const met = units >= template.minCohortSize && total >= input.threshold;
    log.info('milestone checked', { grantId: input.grantId, milestoneId: input.milestoneId, met });
    const { grantId, milestoneId, templateId, templateHash, metric: metricName, threshold } = input;
    return {
      met,
      statementHash: canonicalHash({
        grantId,
        milestoneId,
        templateId,
        templateHash,
        parameters,
        metric: metricName,
        threshold,
        met,
      }),
    };
  }

  return { checkMilestone };
}

export type MilestoneCheckActivities = ReturnType<typeof createMilestoneCheckActivities>;
