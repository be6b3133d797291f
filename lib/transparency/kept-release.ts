import { z } from 'zod';
import { checkReleaseLookup, loggedRelease, releaseEntry, type ReleaseLookup } from './release-entry';
import {
  checkConsistency,
  checkInclusion,
  checkTreeHead,
  entryLeafHash,
  signedTreeHead,
  type ConsistencyProofResponse,
  type SignedTreeHead,
} from './tree-head';

/**
 * What a seller's perimeter keeps of each release it logged (activities/perimeter/release-logging.ts):
 * the operator's signed head and the inclusion proof the log answered with. It is the seller's
 * evidence: a log that later lacks the entry forked or was rewritten, and the kept head, signed by the
 * operator, proves the log once held it.
 */
export const keptReleaseProof = z.strictObject({
  lookupKey: z.string().regex(/^[0-9a-f]{64}$/),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  dealId: z.string().min(1),
  termsHash: z.string().min(1),
  proof: loggedRelease,
  treeHead: signedTreeHead,
});
export type KeptReleaseProof = z.infer<typeof keptReleaseProof>;

/** Where the perimeter keeps the proofs, one JSON line each, beside its privacy ledger. */
export const RELEASE_PROOFS_FILE = 'logged-releases.jsonl';

/** The kept proofs of a `logged-releases.jsonl`; a line that is not one is named by its number. */
export function parseKeptReleases(text: string): { kept: KeptReleaseProof[]; problems: string[] } {
  const kept: KeptReleaseProof[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push(`line ${index + 1} is not JSON`);
      return;
    }
    const parsed = keptReleaseProof.safeParse(json);
    if (parsed.success) kept.push(parsed.data);
    else problems.push(`line ${index + 1} is not a kept release proof: ${parsed.error.issues[0]?.message}`);
  });
  return { kept, problems };
}

/** What the log answers now, fetched by the caller: its head, proofs from each kept size, lookups. */
export interface LogNow {
  head: SignedTreeHead;
  /** Kept head size → the log's consistency proof to `head` (or why it gave none). */
  consistency: Map<number, ConsistencyProofResponse | Error>;
  /** Lookup key → the log's signed answer, asked with `since` = `head`'s size (or why it gave none). */
  lookups: Map<string, ReleaseLookup | Error>;
}

/** One kept release, as the check found it. */
export interface KeptReleaseCheck {
  dealId: string;
  lookupKey: string;
  digest: string;
  leafIndex: number;
  /** still: the log holds it; lost: the log no longer does (a fork); unproven: the kept record proves nothing. */
  status: 'still' | 'lost' | 'unproven';
  problem?: string;
  /** The operator's signed head the perimeter kept: the evidence that the log once held the entry. */
  keptHead: SignedTreeHead;
}

/** Why the kept record is no evidence (not the pinned operator's head, or the entry not under it). */
function keptProblem(kept: KeptReleaseProof, operatorKey: string): string | undefined {
  const head = checkTreeHead(kept.treeHead, operatorKey);
  if (!head.ok) return `the kept head is not signed by the pinned operator key (${head.reason})`;
  const entry = releaseEntry(kept.lookupKey, kept.digest);
  const included = checkInclusion(
    entry,
    {
      leafIndex: kept.proof.leafIndex,
      treeSize: kept.treeHead.body.treeSize,
      leafHash: entryLeafHash(entry).toString('hex'),
      path: kept.proof.path,
      treeHead: kept.treeHead,
    },
    operatorKey,
  );
  return included.ok
    ? undefined
    : `the kept proof does not put the entry under the kept head (${included.reason})`;
}

/** Why the log now does not extend the kept head, or undefined when it does. */
function forkProblem(kept: SignedTreeHead, now: LogNow): string | undefined {
  const older = kept.body;
  const newer = now.head.body;
  if (older.treeSize > newer.treeSize)
    return `the log shrank from the kept head's ${older.treeSize} entries to ${newer.treeSize}: history was dropped`;
  if (older.treeSize === newer.treeSize)
    return older.rootHash === newer.rootHash
      ? undefined
      : `the log of ${newer.treeSize} entries has another root than the kept head of the same size: the log forked`;
  const proof = now.consistency.get(older.treeSize);
  if (!proof || proof instanceof Error)
    return `the log gives no consistency proof from the kept head of ${older.treeSize} entries: ${proof?.message ?? 'not asked'}`;
  const consistent = checkConsistency(older, newer, proof);
  return consistent.ok
    ? undefined
    : `the log of ${newer.treeSize} entries does not extend the kept head of ${older.treeSize}: history was rewritten`;
}

/** Why the log's signed answer for the key does not list the kept entry at its leaf, or undefined. */
function lookupProblem(kept: KeptReleaseProof, now: LogNow, operatorKey: string): string | undefined {
  const answer = now.lookups.get(kept.lookupKey);
  if (!answer || answer instanceof Error)
    return `the log does not answer for the release's lookup key: ${answer?.message ?? 'not asked'}`;
  const checked = checkReleaseLookup(answer, kept.lookupKey, operatorKey, now.head);
  if (!checked.ok) return `the log's answer for the release's lookup key fails: ${checked.reason}`;
  const listed = checked.releases.some(
    (release) => release.digest === kept.digest && release.leafIndex === kept.proof.leafIndex,
  );
  return listed
    ? undefined
    : `the log's signed answer for the release's lookup key no longer lists it at leaf ${kept.proof.leafIndex}: settlement would refund the deal as unanswered past notAfter`;
}

/**
 * Each kept release against the log now: the kept head must be the pinned operator's and hold the
 * entry; the log now must extend the kept head (RFC 9162 consistency) and its signed answer for the
 * lookup key, the one settlement reads, must still list the entry at its leaf. A release that fails
 * either is lost: the log forked or was rewritten behind the perimeter's back.
 */
export function checkKeptReleases(
  kept: readonly KeptReleaseProof[],
  now: LogNow,
  operatorKey: string,
): KeptReleaseCheck[] {
  return kept.map((record) => {
    const base = {
      dealId: record.dealId,
      lookupKey: record.lookupKey,
      digest: record.digest,
      leafIndex: record.proof.leafIndex,
      keptHead: record.treeHead,
    };
    const unproven = keptProblem(record, operatorKey);
    if (unproven) return { ...base, status: 'unproven' as const, problem: unproven };
    const lost = forkProblem(record.treeHead, now) ?? lookupProblem(record, now, operatorKey);
    return lost ? { ...base, status: 'lost' as const, problem: lost } : { ...base, status: 'still' as const };
  });
}

/** The kept head sizes a check needs consistency proofs from (those below the log's size now). */
export const keptSizesBelow = (kept: readonly KeptReleaseProof[], size: number): number[] =>
  [...new Set(kept.map((record) => record.treeHead.body.treeSize))].filter((s) => s < size);
