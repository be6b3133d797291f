import { ApplicationFailure } from '@temporalio/activity';
import type { PerimeterRefusal } from './types';

/** A business refusal: not retried; its message is shown to the buyer, so it never quotes data. */
export function refuse(type: PerimeterRefusal, message: string): never {
  throw ApplicationFailure.nonRetryable(message, type);
}
