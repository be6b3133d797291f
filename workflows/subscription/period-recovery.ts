import type { RefusalStatement } from '../../lib/refusal-statement';
import { refusalCarriedBy } from '../activity-problem';
import type { DeliveredQuery } from './shapes';

/** How the workflow asks the seller's perimeter again about one run of a period. */
export interface PerimeterAgain {
  /** The perimeter's signed `Withdrawn` refusal, or undefined when it released that run's answer. */
  withdraw(runId: string): Promise<RefusalStatement | undefined>;
  /** The run asked again: a released run gets its stored answer and release statement, charged nothing more. */
  ask(queryIndex: number, runId: string): Promise<DeliveredQuery>;
}

/**
 * A period none of whose runs reached the workflow answered is settled on what the perimeter
 * recorded, not on what the workflow saw: a run that failed without a signed refusal (a lost result,
 * a perimeter killed after it released) is withdrawn, which the perimeter signs unless it released an
 * answer, and a released one is asked again for its stored answer. So the period ends either
 * answered (the seller is paid) or refused run by run (the subscriber is refunded), never stranded.
 * Throws, for the operator's retry, while the perimeter cannot say which.
 */
export async function recoverPeriodRuns(
  results: readonly DeliveredQuery[],
  refusals: Map<string, RefusalStatement>,
  perimeter: PerimeterAgain,
): Promise<DeliveredQuery[]> {
  const recovered: DeliveredQuery[] = [];
  for (const result of results) {
    if ('resultRef' in result || refusals.has(result.runId)) {
      recovered.push(result);
      continue;
    }
    const withdrawn = await perimeter.withdraw(result.runId);
    if (withdrawn) {
      refusals.set(result.runId, withdrawn);
      recovered.push(result);
      continue;
    }
    try {
      recovered.push(await perimeter.ask(result.queryIndex, result.runId));
    } catch (error) {
      const refusal = refusalCarriedBy(error);
      if (!refusal) throw error;
      refusals.set(result.runId, refusal);
      recovered.push(result);
    }
  }
  return recovered;
}
