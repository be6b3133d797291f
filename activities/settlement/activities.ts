import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PartyRegistry } from '../../lib/parties';
import { requirePayerSigned } from './payer-key';
import { SettlementRefusedError, type LockEscrowInput, type SettlementPort } from './port';

/** How often a running settlement activity tells Temporal it is alive (well under its heartbeat timeout). */
const HEARTBEAT_MS = 2_000;

/**
 * Runs one port call as an activity: heartbeats while it proves, sends and waits for inclusion (or for
 * the buyer's payment), and turns business refusals into non-retryable failures with their code.
 */
async function asActivity<T>(action: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
  try {
    return await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError)
      throw ApplicationFailure.nonRetryable(error.message, error.refusal);
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

export interface SettlementActivityOptions {
  /** How long the buyer has to pay into the escrow, counted from when the lock was first scheduled. */
  paymentWindowMs: number;
  /** The registered parties: a lock needs the payer's terms under the key registered for it. */
  parties: PartyRegistry;
}

/** Settlement activities (task queue `settlement`) over whichever adapter the worker was given. */
export function createSettlementActivities(port: SettlementPort, options: SettlementActivityOptions) {
  return {
    openEscrow: (input: Parameters<SettlementPort['openEscrow']>[0]) =>
      asActivity(() => port.openEscrow(input)),
    lockEscrow: (input: LockEscrowInput) =>
      asActivity(() => {
        requirePayerSigned(input, options.parties);
        return port.lockEscrow({
          ...input,
          // From the first attempt's scheduling: a retry after a crash does not restart the window.
          payBy: input.payBy ?? Context.current().info.scheduledTimestampMs + options.paymentWindowMs,
          signal: Context.current().cancellationSignal,
        });
      }),
    releaseEscrow: (input: Parameters<SettlementPort['releaseEscrow']>[0]) =>
      asActivity(() => port.releaseEscrow(input)),
    refundEscrow: (input: Parameters<SettlementPort['refundEscrow']>[0]) =>
      asActivity(() => port.refundEscrow(input)),
    releasePart: (input: Parameters<SettlementPort['releasePart']>[0]) =>
      asActivity(() => port.releasePart(input)),
    refundRemainder: (input: Parameters<SettlementPort['refundRemainder']>[0]) =>
      asActivity(() => port.refundRemainder(input)),
    splitEscrow: (input: Parameters<SettlementPort['splitEscrow']>[0]) =>
      asActivity(() => port.splitEscrow(input)),
    returnLatePayments: (input: Parameters<SettlementPort['returnLatePayments']>[0]) =>
      asActivity(() =>
        port.returnLatePayments({
          ...input,
          // Twice the payment window: a payer who started paying just before the lock gave up lands too.
          watchUntil:
            input.watchUntil ?? Context.current().info.scheduledTimestampMs + 2 * options.paymentWindowMs,
          signal: Context.current().cancellationSignal,
        }),
      ),
    recordReceipt: (input: Parameters<SettlementPort['recordReceipt']>[0]) =>
      asActivity(() => port.recordReceipt(input)),
    anchorTreeHead: (input: Parameters<SettlementPort['anchorTreeHead']>[0]) =>
      asActivity(() => port.anchorTreeHead(input)),
    /** Read-only: what a payer could pay now, or null where settlement cannot tell. */
    spendableBalance: async ({ account }: { account: string }) =>
      (await port.spendableBalance(account)) ?? null,
  };
}

export type SettlementActivities = ReturnType<typeof createSettlementActivities>;
export const SETTLEMENT_TASK_QUEUE = 'settlement';
