import { ApplicationFailure, CancellationScope, sleep } from '@temporalio/workflow';
import type { PerimeterActivities } from '../activities/perimeter/activities';
import type { RefusalStatement } from '../lib/refusal-statement';
import { problemOf } from './activity-problem';
import { perimeterExpiry } from './activity-options';
import { perimeterActivities } from './activity-proxies';
import type { DealProblem } from './deal/shapes';
import { expiryAskBackoffMs, type ExpiryStatus } from './expiry-status';

/** What a perimeter answers when asked whether a deal expired unanswered. */
export type ExpiryAnswer = Awaited<ReturnType<PerimeterActivities['confirmExpiry']>>;

/** A perimeter's answer that came before the expiry, or the expiry (the answer is then cancelled). */
export type BeforeExpiry<T> = { answered: true; value: T } | { answered: false };

/**
 * Waits for `work` (a perimeter's answer) until `expiresAtMs` on the workflow's clock. Its result, or
 * its failure as thrown, when it settles first; when the time comes first, `work` is cancelled and
 * nothing is returned. Without an expiry, `work` is simply awaited.
 */
export async function beforeExpiry<T>(
  work: () => Promise<T>,
  expiresAtMs: number | undefined,
): Promise<BeforeExpiry<T>> {
  if (expiresAtMs === undefined) return { answered: true, value: await work() };
  const answerScope = new CancellationScope();
  const timerScope = new CancellationScope();
  const answer = answerScope.run(work);
  const timer = timerScope.run(() => sleep(Math.max(1, expiresAtMs - Date.now())));
  const first = await Promise.race([
    answer.then(
      (value) => ({ kind: 'answered' as const, value }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    ),
    timer.then(() => ({ kind: 'expired' as const })),
  ]);
  if (first.kind === 'expired') {
    // The perimeter releases nothing fresh past notAfter, and what it did release it will say so.
    answer.catch(() => undefined);
    answerScope.cancel();
    return { answered: false };
  }
  timer.catch(() => undefined);
  timerScope.cancel();
  if (first.kind === 'failed') throw first.error;
  return { answered: true, value: first.value };
}

/**
 * Asks until the perimeter answers: a signed `Expired` refusal, or that it released an answer. Each
 * ask that fails (unreachable, its clock not yet past notAfter) is reported through `missed` and
 * asked again after the backoff; never an error, since the answer only has to come.
 */
export async function askUntilAnswered(
  ask: () => Promise<ExpiryAnswer>,
  missed: (problem: DealProblem, nextAskAt: number) => void,
): Promise<ExpiryAnswer> {
  for (let missedAsks = 1; ; missedAsks += 1) {
    try {
      return await ask();
    } catch (error) {
      const wait = expiryAskBackoffMs(missedAsks);
      missed(problemOf(error), Date.now() + wait);
      await sleep(wait);
    }
  }
}

/**
 * Asks one seller's perimeter until it confirms the deal expired unanswered (or says it released an
 * answer), keeping the deal's status up to date while it cannot be reached.
 */
export async function confirmedExpiry(
  sellerId: string,
  call: { dealId: string; terms: unknown },
  status: ExpiryStatus,
): Promise<ExpiryAnswer> {
  const perimeter = perimeterActivities<PerimeterActivities>(sellerId, perimeterExpiry);
  const answer = await askUntilAnswered(
    () => perimeter.confirmExpiry(call),
    (problem, nextAskAt) => status.missed(problem.code, nextAskAt),
  );
  status.answered();
  return answer;
}

/**
 * The deal's failure once its perimeter signed that it expired unanswered: typed `TermsExpired`, the
 * signed refusal in its details, so the refund that follows carries it as any refusal's does.
 */
export function expiredUnanswered(refusal: RefusalStatement, notAfter: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'TermsExpired',
    message: `no answer came before the buyer's notAfter (${new Date(notAfter).toISOString()}); the seller's perimeter signed that it never released one`,
    nonRetryable: true,
    details: [refusal],
  });
}
