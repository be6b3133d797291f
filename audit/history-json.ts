import type { PayloadCodec } from '@temporalio/common';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';

/** A history in Temporal's JSON form (bytes as base64), as `temporal workflow show -o json` prints it. */
export type HistoryJson = { events: HistoryEventJson[] };
export type HistoryEventJson = Record<string, unknown> & { eventId: string; eventType: string };
type JsonPayload = { metadata?: Record<string, string>; data?: string };

const isPayload = (value: object): value is JsonPayload =>
  'metadata' in value &&
  typeof value.metadata === 'object' &&
  value.metadata !== null &&
  'encoding' in value.metadata;

/**
 * The history with every payload run through the history codec: what an auditor can replay without
 * the operator's codec keys (the workflow code sees exactly these values).
 */
export async function decodedHistoryJson(history: History, codec: PayloadCodec): Promise<HistoryJson> {
  const walk = async (value: unknown): Promise<unknown> => {
    if (Array.isArray(value)) return Promise.all(value.map(walk));
    if (typeof value !== 'object' || value === null) return value;
    if (isPayload(value)) {
      const [decoded] = await codec.decode([
        {
          metadata: Object.fromEntries(
            Object.entries(value.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
          ),
          data: Buffer.from(value.data ?? '', 'base64'),
        },
      ]);
      return {
        metadata: Object.fromEntries(
          Object.entries(decoded!.metadata ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v ?? []).toString('base64'),
          ]),
        ),
        data: Buffer.from(decoded!.data ?? []).toString('base64'),
      };
    }
    return Object.fromEntries(
      await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await walk(v)])),
    );
  };
  return (await walk(JSON.parse(historyToJSON(history)))) as HistoryJson;
}

/** A decoded JSON payload's value (json/plain encoding); undefined for anything else. */
export function payloadValue(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null || !isPayload(payload)) return undefined;
  const encoding = Buffer.from(payload.metadata?.encoding ?? '', 'base64').toString();
  if (encoding !== 'json/plain') return undefined;
  return JSON.parse(Buffer.from(payload.data ?? '', 'base64').toString('utf8'));
}

const payloadsOf = (holder: unknown): unknown[] =>
  ((holder as { payloads?: unknown[] } | undefined)?.payloads ?? []).map(payloadValue);

export interface ActivityCall {
  activityType: string;
  /** The queue it was dispatched to: a perimeter's is `perimeter.<sellerId>`. */
  taskQueue?: string;
  input: unknown[];
  /** Present when the activity completed. */
  result?: unknown;
  completed: boolean;
  /** When Temporal recorded its completion (ms since the epoch), where the history says. */
  completedAt?: number;
}

/** The workflow's input arguments and every activity it scheduled, with results where they completed. */
export function readHistory(history: HistoryJson): {
  workflowType: string;
  input: unknown[];
  activities: ActivityCall[];
  childWorkflowIds: string[];
  continuedAsNewRunId?: string;
  result?: unknown;
} {
  const scheduled = new Map<string, ActivityCall>();
  const childWorkflowIds: string[] = [];
  let workflowType = '';
  let input: unknown[] = [];
  let result: unknown;
  let continuedAsNewRunId: string | undefined;
  for (const event of history.events) {
    const attributes = (name: string) => event[name] as Record<string, unknown> | undefined;
    const started = attributes('workflowExecutionStartedEventAttributes');
    if (started) {
      workflowType = (started.workflowType as { name: string }).name;
      input = payloadsOf(started.input);
    }
    const activity = attributes('activityTaskScheduledEventAttributes');
    if (activity)
      scheduled.set(event.eventId, {
        activityType: (activity.activityType as { name: string }).name,
        taskQueue: (activity.taskQueue as { name?: string } | undefined)?.name,
        input: payloadsOf(activity.input),
        completed: false,
      });
    const completed = attributes('activityTaskCompletedEventAttributes');
    if (completed) {
      const call = scheduled.get(String(completed.scheduledEventId));
      if (call) {
        call.completed = true;
        call.result = payloadsOf(completed.result)[0];
        const at = eventTimeMs(event);
        if (at !== undefined) call.completedAt = at;
      }
    }
    const child = attributes('startChildWorkflowExecutionInitiatedEventAttributes');
    if (child) childWorkflowIds.push(String(child.workflowId));
    const finished = attributes('workflowExecutionCompletedEventAttributes');
    if (finished) result = payloadsOf(finished.result)[0];
    const continued = attributes('workflowExecutionContinuedAsNewEventAttributes');
    if (continued) continuedAsNewRunId = String(continued.newExecutionRunId);
  }
  return {
    workflowType,
    input,
    activities: [...scheduled.values()],
    childWorkflowIds,
    continuedAsNewRunId,
    result,
  };
}

/** Every JSON payload value anywhere in the history: inputs, results, updates, signals. */
export function allPayloadValues(history: HistoryJson): unknown[] {
  const values: unknown[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    if (isPayload(value)) {
      try {
        values.push(payloadValue(value));
      } catch {
        // Not JSON: nothing a party id could be read from.
      }
      return;
    }
    Object.values(value).forEach(walk);
  };
  walk(history.events);
  return values;
}

/**
 * When Temporal recorded an event (ms since the epoch): its JSON form holds an RFC 3339 string, an
 * older export `{ seconds, nanos }`. Undefined when the event carries no time.
 */
export function eventTimeMs(event: HistoryEventJson | undefined): number | undefined {
  const time = event?.eventTime as string | { seconds?: string | number; nanos?: number } | undefined;
  if (typeof time === 'string') {
    const ms = Date.parse(time);
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (time && time.seconds !== undefined)
    return Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
  return undefined;
}
