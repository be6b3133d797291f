import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { decodedHistoryJson, readHistory, type HistoryJson } from '../../audit/history-json';
import { rootWorkflowId, subjectCalls, type AuditSubject } from '../../audit/subject';
import { ApiError } from '../errors';

export interface RecordedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Decoded through the history codec: replayable without the operator's keys. */
  history: HistoryJson;
}

/** The runs of one workflow id, oldest first: a continue-as-new chain is followed back to its start. */
async function runsOf(
  temporal: Client,
  codec: PayloadCodec,
  workflowId: string,
  what = `deal ${workflowId}`,
): Promise<RecordedRun[]> {
  const runs: RecordedRun[] = [];
  let runId: string | undefined;
  try {
    runId = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ApiError('not_found', `no ${what}`);
    throw error;
  }
  while (runId) {
    const raw = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    const history = await decodedHistoryJson(raw, codec);
    runs.unshift({ workflowId, runId, workflowType: readHistory(history).workflowType, history });
    const started = history.events[0]?.workflowExecutionStartedEventAttributes as
      { continuedExecutionRunId?: string } | undefined;
    runId = started?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** Every run of a deal's workflow and of the child workflows it started (a dispute, ...), oldest first. */
export async function dealRuns(
  temporal: Client,
  codec: PayloadCodec,
  dealId: string,
  what = `deal ${dealId}`,
): Promise<RecordedRun[]> {
  const all: RecordedRun[] = [];
  const pending = [dealId];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const workflowId = pending.shift()!;
    if (seen.has(workflowId)) continue;
    seen.add(workflowId);
    for (const run of await runsOf(temporal, codec, workflowId, workflowId === dealId ? what : undefined)) {
      all.push(run);
      pending.push(...readHistory(run.history).childWorkflowIds);
    }
  }
  return all;
}

const ROOT_TYPES: Record<AuditSubject['kind'], string[]> = {
  deal: ['cohortQueryDeal', 'multiSellerDeal'],
  subscription_period: ['subscription'],
  grant: ['milestoneGrant'],
  disclosure: ['disclosure'],
};

const describeSubject = (subject: AuditSubject) =>
  subject.kind === 'deal'
    ? `deal ${subject.dealId}`
    : subject.kind === 'subscription_period'
      ? `subscription ${subject.subscriptionId}`
      : `${subject.kind} ${subject.kind === 'grant' ? subject.grantId : subject.disclosureId}`;

/**
 * The runs an audit of the subject replays: a deal's, grant's or disclosure's workflow with its
 * children; of a subscription's continue-as-new chain, every run that holds a call of the period.
 */
export async function subjectRuns(
  temporal: Client,
  codec: PayloadCodec,
  subject: AuditSubject,
): Promise<RecordedRun[]> {
  if (subject.kind !== 'subscription_period') {
    const runs = await dealRuns(temporal, codec, rootWorkflowId(subject), describeSubject(subject));
    // A deal's route names only deals: a grant's or a subscription's workflow is not one.
    if (!ROOT_TYPES[subject.kind].includes(runs[0]!.workflowType))
      throw new ApiError('not_found', `no ${describeSubject(subject)}`);
    return runs;
  }
  const chain = await runsOf(temporal, codec, rootWorkflowId(subject), describeSubject(subject));
  const spanning = chain.filter((run) => {
    const { input, activities } = readHistory(run.history);
    return subjectCalls(subject, input[0], activities).length > 0;
  });
  if (spanning.length === 0)
    throw new ApiError(
      'not_found',
      `subscription ${subject.subscriptionId} has not started period ${subject.period}`,
    );
  return spanning;
}
