import { z } from 'zod';
import { refusal } from './refusals';
/**
 * Money steps that failed and wait for an operator. Pure state, unit-tested; the workflows wire it
 * (see ./guarded-settlement.ts). A failed refund, release or budget release is never swallowed: it
 * stays listed, with its reason, until a retry the operator asked for succeeds.
 */
export const attentionItem = z.object({
  /** Which step failed, e.g. `refund`, `release`, `release-budget`. */
  step: z.string(),
  code: z.string(),
  reason: z.string(),
  /** When it last failed (ms since the epoch). */
  at: z.number(),
  /** How many times it failed, the first run included. */
  failures: z.number(),
});
export type AttentionItem = z.infer<typeof attentionItem>;

export interface OperatorRetryRequest {
  /** The operator party asking; recorded in the workflow's history. */
  by: string;
}

export interface OperatorRetryAccepted {
  workflowId: string;
  /** The steps being tried again. */
  retrying: string[];
}

export class SettlementAttention {
  private items: AttentionItem[] = [];
  private retryPending = false;
  /** Operator retries accepted so far: a wait can tell a new one. */
  retries = 0;

  get open(): AttentionItem[] {
    return this.items.map((item) => ({ ...item }));
  }

  get needed(): boolean {
    return this.items.length > 0;
  }

  failed(step: string, problem: { code: string; reason: string }, now: number): void {
    const before = this.items.find((item) => item.step === step);
    const failures = (before?.failures ?? 0) + 1;
    this.items = [
      ...this.items.filter((item) => item.step !== step),
      { step, code: problem.code, reason: problem.reason, at: now, failures },
    ];
  }

  succeeded(step: string): void {
    this.items = this.items.filter((item) => item.step !== step);
  }

  /** Throws with the reason unless a retry can start now (used as the update's validator). */
  assertRetryable(): void {
    if (!this.needed) throw refusal('InvalidState', 'nothing waits for an operator here');
    if (this.retryPending) throw refusal('InvalidState', 'a retry is already under way');
  }

  /** One retry at a time: repeated requests while one is pending are refused, so they queue no work. */
  requestRetry(): string[] {
    this.assertRetryable();
    this.retryPending = true;
    this.retries += 1;
    return this.items.map((item) => item.step);
  }

  /** The retry ran (each step succeeded or failed again): the operator may ask again. */
  retryFinished(): void {
    this.retryPending = false;
  }
}
