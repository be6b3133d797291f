import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { decodedHistoryJson, readHistory, type HistoryJson } from '../../lib/audit/history-json';
import { ApiError } from '../errors';

export interface RecordedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Decoded through the history codec: replayable without the operator's keys. */
  history: HistoryJson;
}

/** The runs of one workflow id, oldest first: a continue-as-new chain is followed back to its start. */
async function runsOf(temporal: Client, codec: PayloadCodec, workflowId: string): Promise<RecordedRun[]> {
  const runs: RecordedRun[] = [];
  let runId: string | undefined;
  try {
    runId = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ApiError('not_found', `no deal ${workflowId}`);
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
): Promise<RecordedRun[]> {
  const all: RecordedRun[] = [];
  const pending = [dealId];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const workflowId = pending.shift()!;
    if (seen.has(workflowId)) continue;
    seen.add(workflowId);
    for (const run of await runsOf(temporal, codec, workflowId)) {
      all.push(run);
      pending.push(...readHistory(run.history).childWorkflowIds);
    }
  }
  return all;
}
