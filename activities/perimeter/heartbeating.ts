import { Context } from '@temporalio/activity';

/** Well under the heartbeat timeout of the perimeter's activity presets (workflows/activity-options). */
const HEARTBEAT_MS = 2_000;

type AsyncActivity = (...args: never[]) => Promise<unknown>;

/**
 * Each activity heartbeats while it runs, so one that waits (a budget reservation behind another, a
 * slow disk) on a perimeter worker that is then killed is retried after the heartbeat timeout, in
 * seconds, rather than after its whole start-to-close timeout. Outside an activity (unit tests) the
 * functions run as they are.
 */
export function heartbeating<T extends Record<string, AsyncActivity>>(activities: T): T {
  const wrapped = Object.entries(activities).map(([name, activity]) => [
    name,
    async (...args: never[]) => {
      let context: Context | undefined;
      try {
        context = Context.current();
      } catch {
        return activity(...args);
      }
      const beat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      try {
        return await activity(...args);
      } finally {
        clearInterval(beat);
      }
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}
