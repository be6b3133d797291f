import { releaseStatementProblems, termsHashOf } from '../../release-statement';
import { signedTermsSchema } from '../../signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = 'release statements';

/** Seller id → its perimeter's Ed25519 key, as the auditor pinned them (or read them from the log). */
export type PerimeterKeys = Record<string, string>;

/**
 * Every sealed answer the histories record must come with its seller's perimeter's statement, signed
 * by the perimeter key the auditor pinned for that seller (never a key the bundle carries), naming the
 * deal, the buyer's signed terms and the commitment that was delivered, and the ε the history charged.
 * An answer without one was not released by the seller: the operator wrote it.
 */
export function checkReleaseStatements(bundle: SignedBundle, perimeterKeys?: PerimeterKeys): CheckResult[] {
  const releases = callsOfSubject(bundle.body.subject, bundle.body.runs).filter(
    (c) => c.completed && c.activityType === 'runApprovedQuery',
  );
  if (releases.length === 0) return [skipped(CHECK, 'no sealed answer was released')];
  if (!perimeterKeys)
    return [skipped(CHECK, "give --perimeter-keys FILE: the sellers' perimeter keys you pin")];
  return releases.flatMap((call) => {
    const input = call.input[0] as { dealId: string; terms?: unknown; sellerId?: string };
    const result = call.result as {
      commitment: string;
      epsilonSpent: number;
      release?: { body?: { sellerId?: string } };
    };
    const sellerId = result.release?.body?.sellerId ?? input.sellerId;
    const perimeterKey = sellerId ? perimeterKeys[sellerId] : undefined;
    if (!result.release)
      return [
        finding(
          CHECK,
          `the answer of ${input.dealId} carries no statement of its seller's perimeter: the seller did not release it`,
        ),
      ];
    if (!perimeterKey)
      return [skipped(CHECK, `no perimeter key is pinned for seller ${sellerId ?? '(unnamed)'}`)];
    const terms = signedTermsSchema.safeParse(input.terms);
    const problems = releaseStatementProblems(result.release, {
      perimeterKey,
      dealId: input.dealId,
      commitment: result.commitment,
      ...(terms.success ? { termsHash: termsHashOf(terms.data) } : {}),
    });
    const charged = (result.release as { body: { epsilonCharged: number } }).body.epsilonCharged;
    if (problems.length === 0 && charged !== result.epsilonSpent)
      problems.push(`the perimeter charged ε ${charged}, the history says ${result.epsilonSpent}`);
    return fromProblems(
      CHECK,
      problems.map((p) => `${input.dealId}: ${p}`),
      `${input.dealId}: signed by ${sellerId}'s perimeter`,
    );
  });
}
