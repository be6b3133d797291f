import type { SerializationContext } from '@temporalio/common';

/**
 * Where a payload belongs: the workflow that owns it, and its place there (the workflow's own
 * inputs, signals, updates, queries, memo and result, or one activity's input, result, heartbeat
 * and failure). Temporal's SDK hands the codec this as its serialization context, on the side that
 * encodes and on the side that decodes (a child's input and result belong to the child, a signal to
 * the workflow it is sent to).
 */
export interface PayloadBinding {
  workflowId: string;
  place: string;
}

export function bindingOf(context: SerializationContext | undefined): PayloadBinding | undefined {
  if (!context) return undefined;
  if (context.type === 'workflow') return { workflowId: context.workflowId, place: 'workflow' };
  return { workflowId: context.workflowId ?? '', place: `activity:${context.activityId ?? ''}` };
}

export const describeBinding = (binding: PayloadBinding | null | undefined) =>
  binding ? `workflow "${binding.workflowId}", ${binding.place}` : 'no workflow';

export const sameBinding = (a: PayloadBinding | null | undefined, b: PayloadBinding) =>
  !!a && a.workflowId === b.workflowId && a.place === b.place;
