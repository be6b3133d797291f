import { canonicalHash } from '../../lib/canonical-json';
import { releaseStatement, type ReleaseStatement } from '../../lib/release-statement';
import { signedTermsSchema, termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import {
  checkReleaseLookup,
  extensionLookupKey,
  LOGGED_RELEASE_KINDS,
  releaseLookup,
  releaseLookupKey,
  releaseStatementDigest,
  type LoggedRelease,
  type LookedUpKind,
} from '../../lib/transparency/release-entry';
import type { SignedTreeHead } from '../../lib/transparency/tree-head';
import type { SignedBundle } from '../bundle';
import { callsOfSubject, subjectInput } from '../deal-facts';

/**
 * What the audit reads of the transparency log's release and extension entries: the lookup keys a
 * bundle's subject has (only its parties can compute them: the terms hash covers the payer's nonce),
 * and the log's signed answer for each, believed only under the operator key the auditor pins.
 */

/** The log's answer for one lookup key, as far as it verifies. */
export type LookupAnswer = { ok: true; entries: LoggedRelease[] } | { ok: false; reason: string };

/** The answers an audit read, per lookup key, and the head they had to extend. */
export interface LogLookups {
  releases: Record<string, LookupAnswer>;
  extensions: Record<string, LookupAnswer>;
  /** The head every answer extends, as the report names it (the auditor's saved head or the bundle's). */
  extending?: string;
}

/** One seller's releases of one deal under its terms: a lookup key and whose it is. */
export interface ReleaseKeyOf {
  lookupKey: string;
  sellerId: string;
  dealId: string;
}

/** The payer's signed terms the subject was started with. */
export function subjectTerms(bundle: SignedBundle): SignedTerms | undefined {
  const parsed = signedTermsSchema.safeParse(
    (subjectInput(bundle.body.runs) as { terms?: unknown } | undefined)?.terms,
  );
  return parsed.success ? parsed.data : undefined;
}

/** The sellers a deal's terms pay: a one-time deal's one, each share's of a multi-seller deal. */
function sellersOf(terms: SignedTerms): string[] {
  const body = terms.body as { sellerId?: unknown; sellers?: { sellerId?: unknown }[] };
  if (Array.isArray(body.sellers)) return body.sellers.map((s) => String(s.sellerId));
  return typeof body.sellerId === 'string' ? [body.sellerId] : [];
}

/** The refundable releases (those a perimeter logs) the deal's histories show, once each. */
export function loggedKindStatements(bundle: SignedBundle): ReleaseStatement[] {
  const byDigest = new Map<string, ReleaseStatement>();
  for (const call of callsOfSubject(bundle.body.subject, bundle.body.runs)) {
    if (!call.completed || !['runApprovedQuery', 'encryptContribution'].includes(call.activityType)) continue;
    const parsed = releaseStatement.safeParse((call.result as { release?: unknown } | undefined)?.release);
    if (parsed.success && LOGGED_RELEASE_KINDS.has(parsed.data.body.kind))
      byDigest.set(releaseStatementDigest(parsed.data), parsed.data);
  }
  return [...byDigest.values()];
}

/**
 * A deal's release lookup keys: each seller its terms pay, under the deal and its terms; and the key
 * of each release the histories show (one stated for other terms gets its own key, and its own
 * finding in the release statements' check).
 */
export function releaseKeysOf(bundle: SignedBundle): ReleaseKeyOf[] {
  if (bundle.body.subject.kind !== 'deal') return [];
  const terms = subjectTerms(bundle);
  const keys = new Map<string, ReleaseKeyOf>();
  const add = (release: { sellerId: string; dealId: string; termsHash: string }) =>
    keys.set(releaseLookupKey(release), {
      lookupKey: releaseLookupKey(release),
      sellerId: release.sellerId,
      dealId: release.dealId,
    });
  if (terms)
    for (const sellerId of sellersOf(terms))
      add({ sellerId, dealId: String(terms.body.dealId), termsHash: termsHashOf(terms) });
  for (const statement of loggedKindStatements(bundle)) add(statement.body);
  return [...keys.values()];
}

/** A grant's extension lookup key, from the sponsor's signed terms. */
export function extensionKeyOf(bundle: SignedBundle): string | undefined {
  if (bundle.body.subject.kind !== 'grant') return undefined;
  const terms = subjectTerms(bundle);
  if (!terms || terms.kind !== 'grant') return undefined;
  return extensionLookupKey({ grantId: String(terms.body.grantId), termsHash: termsHashOf(terms) });
}

/** Reads one lookup key's answer and checks it; an answer that does not verify is kept with why. */
async function lookUp(
  get: (path: string) => Promise<unknown>,
  lookupKey: string,
  kind: LookedUpKind,
  operatorKey: string,
  saved?: SignedTreeHead,
): Promise<LookupAnswer> {
  const since = saved?.body.treeSize ?? 0;
  const answer = releaseLookup.safeParse(await get(`/log/${kind}s/${lookupKey}?since=${since}`));
  if (!answer.success) return { ok: false, reason: 'its answer is malformed' };
  const checked = checkReleaseLookup(answer.data, lookupKey, operatorKey, saved, kind);
  return checked.ok ? { ok: true, entries: checked.releases } : checked;
}

/**
 * The log's answers for every lookup key of the bundle's subject, through `get` (a signed request),
 * each checked under the pinned operator key: the statement of which leaves the key holds, each
 * inclusion proof, and the head extending `saved` (the auditor's saved head, else the bundle's own).
 */
export async function readLogLookups(
  get: (path: string) => Promise<unknown>,
  operatorKey: string,
  bundle: SignedBundle,
  saved?: { head: SignedTreeHead; what: string },
): Promise<LogLookups> {
  const releases: Record<string, LookupAnswer> = {};
  for (const { lookupKey } of releaseKeysOf(bundle))
    releases[lookupKey] = await lookUp(get, lookupKey, 'release', operatorKey, saved?.head);
  const extensions: Record<string, LookupAnswer> = {};
  const extensionKey = extensionKeyOf(bundle);
  if (extensionKey)
    extensions[extensionKey] = await lookUp(get, extensionKey, 'extension', operatorKey, saved?.head);
  return { releases, extensions, ...(saved ? { extending: saved.what } : {}) };
}

/** The digest an extension is logged under (the whole signed extension). */
export const extensionDigest = (extension: unknown) => canonicalHash(extension);
