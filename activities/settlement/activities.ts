import { ApplicationFailure } from '@temporalio/activity';
import { SettlementRefusedError, type SettlementPort } from './port';

async function asActivity<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError)
      throw ApplicationFailure.nonRetryable(error.message, error.refusal);
    throw error;
  }
}

/** Settlement activities (task queue `settlement`) over whichever adapter the worker was given. */
export function createSettlementActivities(port: SettlementPort) {
  return {
    lockEscrow: (input: Parameters<SettlementPort['lockEscrow']>[0]) =>
      asActivity(() => port.lockEscrow(input)),
    releaseEscrow: (input: Parameters<SettlementPort['releaseEscrow']>[0]) =>
      asActivity(() => port.releaseEscrow(input)),
    refundEscrow: (input: Parameters<SettlementPort['refundEscrow']>[0]) =>
      asActivity(() => port.refundEscrow(input)),
    releasePart: (input: Parameters<SettlementPort['releasePart']>[0]) =>
      asActivity(() => port.releasePart(input)),
    refundRemainder: (input: Parameters<SettlementPort['refundRemainder']>[0]) =>
      asActivity(() => port.refundRemainder(input)),
  };
}

export type SettlementActivities = ReturnType<typeof createSettlementActivities>;
export const SETTLEMENT_TASK_QUEUE = 'settlement';
