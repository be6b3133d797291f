import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { QueryDefinition, SearchAttributePair, UpdateDefinition } from '@temporalio/common';
import { DEALS_TASK_QUEUE } from '../lib/task-queues';
import { ApiError } from './errors';
import { notFoundOr } from './error-responses';
import { refusalAsApiError } from './refusal-codes';

/** An update sent to a workflow of another kind: the workflow has no handler for it. */
const NO_UPDATE_HANDLER = /^No registered handler for update/;

/**
 * The calls every lifecycle service makes to Temporal, with their failures mapped onto the error
 * catalogue: an unknown workflow, or an id of another kind of workflow, is 404; an update its
 * validator refused is 409 with its reason, and so is an action on a workflow that has finished.
 */
export class WorkflowCalls {
  constructor(private readonly temporal: Client) {}

  async query<T>(workflowId: string, query: QueryDefinition<T, []>, what: string): Promise<T> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).query(query);
    } catch (error) {
      throw notFoundOr(error, what);
    }
  }

  /**
   * Sends an update; the workflow's own validator decides who may do what, and its typed refusal is
   * the answer (api/refusal-codes.ts). `workflowType` names the kind of workflow the id must be: a
   * finished workflow of another kind is not found, as a running one is (it has no such handler).
   */
  async update<T, A>(
    workflowId: string,
    update: UpdateDefinition<T, [A]>,
    arg: A,
    what: string,
    workflowType?: string,
  ): Promise<T> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).executeUpdate(update, { args: [arg] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError)
        throw await this.finishedOrNotFound(workflowId, what, workflowType);
      if (error instanceof WorkflowUpdateFailedError) {
        const reason = error.cause?.message ?? `${what} refused this now`;
        if (NO_UPDATE_HANDLER.test(reason)) throw new ApiError('not_found', `no ${what}`);
        throw refusalAsApiError(error.cause, reason);
      }
      throw error;
    }
  }

  /** An update to a closed workflow reads as "not found": say it has finished instead, when it has. */
  private async finishedOrNotFound(
    workflowId: string,
    what: string,
    workflowType?: string,
  ): Promise<ApiError> {
    const description = await this.temporal.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (!description || (workflowType !== undefined && description.type !== workflowType))
      return new ApiError('not_found', `no ${what}`);
    return new ApiError('invalid_state', `${what} has finished (${description.status.name.toLowerCase()})`);
  }

  /** Whether a workflow with this id was ever started (a retried create request finds it). */
  async exists(workflowId: string): Promise<boolean> {
    return this.temporal.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof WorkflowNotFoundError) return false;
          throw error;
        },
      );
  }

  /** Starts a workflow once per id; false when it already existed (a retried request). */
  async startOnce<I>(
    workflow: (input: I) => Promise<unknown>,
    workflowId: string,
    input: I,
    typedSearchAttributes?: SearchAttributePair[],
  ): Promise<boolean> {
    try {
      await this.temporal.workflow.start(workflow, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId,
        ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [input],
      });
      return true;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw error;
    }
  }
}

/** Refuses a time-bound access that has ended: the workflow's timer ends it too, the API does not wait for it. */
export function assertNotExpired(until: number | undefined, what: string, now = Date.now()): void {
  if (until === undefined || now >= until) throw new ApiError('access_expired', `${what} has ended`);
}
