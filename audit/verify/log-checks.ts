import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { EXPIRY_CLOCK_MARGIN_MS } from '../../lib/refusal-statement';
import type { SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { releaseLookupKey, releaseStatementDigest } from '../../lib/transparency/release-entry';
import type { SignedBundle } from '../bundle';
import { allPayloadValues } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { NO_KEYS } from './key-checks';
import {
  extensionDigest,
  extensionKeyOf,
  loggedKindStatements,
  releaseKeysOf,
  subjectTerms,
  type LogLookups,
  type LookupAnswer,
} from './log-lookups';
import { payeeOf, refusalSigning, undeliveredRefunds } from './refusal-checks';
import { isSponsorsExtension, nestedObjects } from './remainder-checks';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const RELEASES = 'releases in the transparency log';
const REFUNDS = 'refunds past notAfter against the release log';
const EXTENSIONS = 'grant extensions in the transparency log';

/** Said wherever the log was not read: these checks did not pass, they did not run. */
export const LOG_NOT_READ =
  "not run: the log's release and extension entries were not read (give --as <party> and pin --operator-key)";

const untrusted = (what: string, answer: LookupAnswer) =>
  answer.ok ? undefined : `the log's answer for ${what} cannot be believed: ${answer.reason}`;

/**
 * A deal's releases against the log: each release the histories show (a sealed table, a private
 * selection, a multi-seller contribution) must be logged under its seller's lookup key, as the
 * perimeter logs each before returning it; and each entry under the keys of the deal's sellers must be
 * a release the bundle shows. An entry that is not is "unexplained": a release kept out of the
 * histories, or an entry the operator appended. Either holds the buyer's refund past notAfter
 * (settlement refuses it while the log holds a release): the operator can withhold a refund this way,
 * as it can by not running settlement, and the audit names it.
 */
export function checkReleasesInLog(bundle: SignedBundle, lookups?: LogLookups): CheckResult[] {
  if (bundle.body.subject.kind !== 'deal') return [];
  if (!lookups) return [skipped(RELEASES, LOG_NOT_READ)];
  const keys = releaseKeysOf(bundle);
  const statements = loggedKindStatements(bundle);
  const shown = new Set(statements.map(releaseStatementDigest));
  const problems: string[] = [];
  let logged = 0;
  for (const { lookupKey, sellerId, dealId } of keys) {
    const answer = lookups.releases[lookupKey] ?? { ok: false, reason: 'it was not asked' };
    const refused = untrusted(`${sellerId}'s releases of ${dealId}`, answer);
    if (refused || !answer.ok) {
      problems.push(refused!);
      continue;
    }
    logged += answer.entries.length;
    for (const entry of answer.entries.filter((e) => !shown.has(e.digest)))
      problems.push(
        `unexplained log entry: leaf ${entry.leafIndex} under ${sellerId}'s release key of ${dealId} holds statement ${entry.digest}, which is no release the bundle shows (a release kept out of the histories, or an entry the operator appended: either holds the buyer's refund past notAfter)`,
      );
  }
  for (const statement of statements) {
    const answer = lookups.releases[releaseLookupKey(statement.body)];
    const digest = releaseStatementDigest(statement);
    if (answer?.ok && !answer.entries.some((e) => e.digest === digest))
      problems.push(
        `${statement.body.sellerId}'s ${statement.body.kind} release of ${statement.body.dealId} (statement ${digest}) is in the bundle but not in the log: it was returned without being logged`,
      );
  }
  const extending = lookups.extending ? `; every answer extends ${lookups.extending}` : '';
  return fromProblems(
    RELEASES,
    problems,
    `${statements.length} release${statements.length === 1 ? '' : 's'} shown, each logged; ${logged} log entr${logged === 1 ? 'y' : 'ies'} under ${keys.length} seller key${keys.length === 1 ? '' : 's'}, each one shown${extending}`,
  );
}

/**
 * A refund of an escrow the histories show nothing delivered for, past the buyer's notAfter, is the
 * buyer's money back for an answer nobody gave only while the log holds no release of it by the
 * escrow's seller (settlement checks it so: activities/settlement/refund-proof.ts). One made while the
 * log holds a release is named, unless it carried the perimeter's own signed refusal.
 */
export function checkExpiredRefundsInLog(
  bundle: SignedBundle,
  lookups?: LogLookups,
  keys?: AuditorKeys,
): CheckResult[] {
  if (bundle.body.subject.kind !== 'deal') return [];
  const { terms, refunds } = undeliveredRefunds(bundle);
  const expired = terms ? refunds.filter((call) => pastNotAfter(call.completedAt, terms)) : [];
  if (!terms || expired.length === 0)
    return [skipped(REFUNDS, 'no undelivered deal was refunded past notAfter')];
  if (!lookups) return [skipped(REFUNDS, LOG_NOT_READ)];
  const problems = expired.flatMap((call) => {
    const escrowId = String((call.input[0] as { dealId?: unknown }).dealId);
    if (parseEscrowId(escrowId)?.kind === 'period') return [];
    if (keys && refusalSigning(call, terms, keys) === 'valid') return [];
    const sellerId = payeeOf(escrowId, terms);
    const key = releaseLookupKey({
      sellerId,
      dealId: String(terms.body.dealId),
      termsHash: termsHashOf(terms),
    });
    const answer = lookups.releases[key];
    const first = answer?.ok ? answer.entries[0] : undefined;
    return first
      ? [
          `${escrowId} was refunded past the buyer's notAfter though the log holds ${sellerId}'s release of it (leaf ${first.leafIndex}): the buyer had the answer and its money back`,
        ]
      : [];
  });
  return fromProblems(
    REFUNDS,
    problems,
    `${expired.length} refund${expired.length === 1 ? '' : 's'} past notAfter, none of a release the log holds`,
  );
}

const pastNotAfter = (at: number | undefined, terms: SignedTerms) =>
  at !== undefined && at > Date.parse(String(terms.body.notAfter)) + EXPIRY_CLOCK_MARGIN_MS;

type Extension = SignedDecision<{ milestoneId: string; deadline: number }>;

const describeExtension = (extension: Extension) =>
  `milestone ${extension.statement.content.milestoneId} to ${new Date(extension.statement.content.deadline).toISOString()}`;

/** The sponsor's verified extensions of these terms the histories hold, once each by digest. */
function historyExtensions(bundle: SignedBundle, terms: SignedTerms, sponsorKeys: string[]) {
  const byDigest = new Map<string, Extension>();
  for (const value of bundle.body.runs.flatMap((run) => allPayloadValues(run.history)).flatMap(nestedObjects))
    if (isSponsorsExtension(value, terms, sponsorKeys))
      byDigest.set(extensionDigest(value), value as Extension);
  return byDigest;
}

/**
 * A grant's deadline extensions against the log: the API logs each one the grant accepted, and
 * settlement honours each logged one the sponsor signed, shown or not. So an extension in the
 * histories the log lacks is one settlement did not honour, and one the log holds that the histories
 * lack is one the grant did not; an entry that is not the sponsor's extension of these terms is
 * unexplained (settlement skips it).
 */
export function checkExtensionsInLog(
  bundle: SignedBundle,
  lookups?: LogLookups,
  keys?: AuditorKeys,
): CheckResult[] {
  if (bundle.body.subject.kind !== 'grant') return [];
  const terms = subjectTerms(bundle);
  const lookupKey = extensionKeyOf(bundle);
  if (!terms || !lookupKey) return [skipped(EXTENSIONS, 'the grant carries no signed terms')];
  if (!lookups) return [skipped(EXTENSIONS, LOG_NOT_READ)];
  if (!keys) return [skipped(EXTENSIONS, NO_KEYS)];
  const answer = lookups.extensions[lookupKey] ?? { ok: false, reason: 'it was not asked' };
  if (!answer.ok) return [finding(EXTENSIONS, untrusted(`grant ${String(terms.body.grantId)}`, answer)!)];
  const sponsorKeys = keys.parties[terms.signer]?.keys ?? [];
  const shown = historyExtensions(bundle, terms, sponsorKeys);
  const logged = new Set(answer.entries.map((entry) => entry.digest));
  const problems = [...shown]
    .filter(([digest]) => !logged.has(digest))
    .map(
      ([, extension]) =>
        `the sponsor's extension of ${describeExtension(extension)} is in the histories but not in the log: settlement does not honour it`,
    );
  for (const entry of answer.entries) {
    if (!isSponsorsExtension(entry.document, terms, sponsorKeys))
      problems.push(
        `unexplained log entry: leaf ${entry.leafIndex} under the grant's extension key is not the sponsor's extension of these terms (settlement skips it)`,
      );
    else if (!shown.has(entry.digest))
      problems.push(
        `the log holds the sponsor's extension of ${describeExtension(entry.document as Extension)} (leaf ${entry.leafIndex}), which the histories do not show: the grant did not honour it`,
      );
  }
  return fromProblems(
    EXTENSIONS,
    problems,
    `${shown.size} extension${shown.size === 1 ? '' : 's'} in the histories, each logged; ${answer.entries.length} logged, each in the histories`,
  );
}

/** The documents the log holds under the grant's extension key (settlement counts each that verifies). */
export function loggedExtensionsOf(bundle: SignedBundle, lookups?: LogLookups): unknown[] {
  const lookupKey = extensionKeyOf(bundle);
  const answer = lookupKey ? lookups?.extensions[lookupKey] : undefined;
  return answer?.ok ? answer.entries.map((entry) => entry.document) : [];
}
