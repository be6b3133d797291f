import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import type { LogAnchor } from '../../lib/transparency/anchor';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { logHeadAnchor } from '../../workflows/audit/anchor';
import { logAnchorWorkflowId } from '../../lib/ids/workflow-ids';
import { ApiError } from '../errors';
import type { AnchorStore } from './anchor-store';
import type { TransparencyLog } from './log-store';

function failureOf(error: WorkflowFailedError): ApplicationFailure | undefined {
  let cause: unknown = error.cause;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) return cause;
    cause = cause.cause;
  }
  return undefined;
}

/**
 * Anchors the log's current head on Aztec, through the settlement worker: the API owns the log, the
 * settlement worker owns the operator's keys. A head anchored already is not anchored again.
 */
export class AnchorService {
  constructor(
    private readonly temporal: Client,
    private readonly log: TransparencyLog,
    private readonly store: AnchorStore,
    private readonly adapter: 'aztec' | 'local-ledger',
  ) {}

  list(): LogAnchor[] {
    return this.store.all();
  }

  async anchorNow(): Promise<{ anchor: LogAnchor; anchored: boolean }> {
    const { treeSize, rootHash } = this.log.head().body;
    const last = this.store.latest();
    if (last && last.treeSize === treeSize && last.rootHash === rootHash)
      return { anchor: last, anchored: false };
    if (this.adapter !== 'aztec')
      throw new ApiError(
        'invalid_state',
        'log heads are anchored on Aztec only; this operator settles on the local ledger',
      );
    if (treeSize === 0)
      throw new ApiError('invalid_state', 'the log is empty: there is no head worth anchoring');
    let result;
    try {
      result = await this.temporal.workflow.execute(logHeadAnchor, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: logAnchorWorkflowId(treeSize, rootHash),
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowExecutionTimeout: '10 minutes',
        args: [{ treeSize, rootHash }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      throw new ApiError(
        'anchor_unavailable',
        `the head of size ${treeSize} was not anchored: ${failureOf(error)?.message ?? error.message}`,
      );
    }
    const anchor: LogAnchor = { ...result, anchoredAt: Date.now() };
    this.store.record(anchor);
    return { anchor, anchored: true };
  }
}

/**
 * Anchors the head every `intervalMs` if the log grew since the last anchor: a timer in the API,
 * which owns the log, rather than a Temporal Schedule, whose workflow would have to read the log back
 * from the API. A missed tick costs nothing but a later anchor; the next tick anchors the newer head.
 */
export function startAnchorTimer(
  anchors: AnchorService,
  options: { intervalMs: number; warn: (message: string) => void },
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => anchors.anchorNow())
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'invalid_state') return;
        options.warn(`log anchoring failed, tried again next time: ${(error as Error).message}`);
      });
  }, options.intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
