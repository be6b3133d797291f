import type { TuskClient } from '../lib/tusk-client';

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

export interface WaitOptions<S> {
  /** Called on every status that differs in stage from the last one (e.g. to print progress). */
  onStage?: (status: S) => void;
  timeoutMs?: number;
  intervalMs?: number;
}

/** Polls a status route until `done` holds; each new stage is reported once. */
export async function waitFor<S extends { stage: string }>(
  client: TuskClient,
  path: string,
  done: (status: S) => boolean,
  { onStage, timeoutMs = 600_000, intervalMs = 200 }: WaitOptions<S> = {},
): Promise<S> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    const status = await client.get<S>(path);
    if (status.stage !== last) {
      last = status.stage;
      onStage?.(status);
    }
    if (done(status)) return status;
    if (Date.now() > deadline) throw new WaitTimeoutError(`${path} is still ${status.stage}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
