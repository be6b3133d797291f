import {
  encryptedAnswerCommitment,
  releaseStatementProblems,
  termsHashOf,
  type ReleaseExpectation,
  type ReleaseKind,
} from '../../lib/release-statement';
import { signedTermsSchema } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import type { ActivityCall } from '../history-json';
import type { PartyKeys } from './auditor-keys';
import { keyThatSigned, retiredKeyProblem } from './key-at-time';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = 'release statements';

/** Seller id → its perimeter's Ed25519 key, as the auditor pinned them or read them from the log. */
export type PerimeterKeys = Record<string, string>;
/** Seller id → every perimeter key the log registered for it, with its period. */
export type LoggedPerimeterKeys = Record<string, PartyKeys>;

/** The perimeter activities whose results are releases, and what each must state. */
const RELEASING = ['runApprovedQuery', 'encryptContribution', 'checkMilestone'] as const;

interface Release {
  /** The seller whose perimeter the workflow asked (its task queue), else the one the statement names. */
  sellerId: string | undefined;
  /** What the release is called in findings: the deal, run or grant id, and the milestone check. */
  label: string;
  statement: unknown;
  expected: Omit<ReleaseExpectation, 'perimeterKey'>;
  /** ε the history says the release charged (a milestone verdict's is the run's, checked across checks). */
  epsilonSpent?: number;
  /** When the history says the release completed: the perimeter key must have been valid then. */
  at?: number;
}

const sellerOfQueue = (queue: string | undefined) =>
  queue?.startsWith('perimeter.') ? queue.slice('perimeter.'.length) : undefined;

function releaseOf(call: ActivityCall): Release | undefined {
  if (!call.completed || !(RELEASING as readonly string[]).includes(call.activityType)) return undefined;
  const input = call.input[0] as Record<string, unknown> & { terms?: unknown };
  const result = (call.result ?? {}) as Record<string, unknown> & {
    release?: { body?: { sellerId?: string } };
  };
  const terms = signedTermsSchema.safeParse(input.terms);
  const termsHash = terms.success ? { termsHash: termsHashOf(terms.data) } : {};
  const sellerId = sellerOfQueue(call.taskQueue) ?? result.release?.body?.sellerId;
  const common = {
    sellerId,
    statement: result.release,
    ...(call.completedAt === undefined ? {} : { at: call.completedAt }),
  };
  switch (call.activityType) {
    case 'checkMilestone': {
      const [grantId, milestoneId, checkId] = [input.grantId, input.milestoneId, input.checkId] as string[];
      return {
        ...common,
        label: `${grantId} milestone ${milestoneId} check ${checkId}`,
        expected: {
          dealId: grantId!,
          kind: 'milestone_verdict',
          commitment: String(result.statementHash),
          subject: { milestoneId: milestoneId!, checkId: checkId!, met: result.met === true },
          ...termsHash,
        },
      };
    }
    case 'encryptContribution':
      return {
        ...common,
        label: `${String(input.dealId)} (${sellerId ?? 'a seller'}'s contribution)`,
        expected: {
          dealId: String(input.dealId),
          kind: 'he_contribution',
          commitment: encryptedAnswerCommitment(String(result.contributionRef)),
          ...termsHash,
        },
        epsilonSpent: Number(result.epsilonSpent),
      };
    default: {
      const kind: ReleaseKind = input.privateSelection
        ? 'he_selection'
        : terms.success && terms.data.kind === 'subscription'
          ? 'subscription_delivery'
          : 'sealed_table';
      return {
        ...common,
        label: String(input.dealId),
        expected: { dealId: String(input.dealId), kind, commitment: String(result.commitment), ...termsHash },
        epsilonSpent: Number(result.epsilonSpent),
      };
    }
  }
}

/** Every release the subject's histories record, in order. */
function releasesOf(bundle: SignedBundle): Release[] {
  return callsOfSubject(bundle.body.subject, bundle.body.runs).flatMap((call) => releaseOf(call) ?? []);
}

/** The sellers whose perimeters released something for the subject: whose keys an auditor needs. */
export function releasingSellers(bundle: SignedBundle): string[] {
  return [...new Set(releasesOf(bundle).flatMap((r) => (r.sellerId ? [r.sellerId] : [])))];
}

function problemsOf(release: Release, perimeterKey: string): string[] {
  const problems = releaseStatementProblems(release.statement, { ...release.expected, perimeterKey });
  const body = (release.statement as { body?: { sellerId?: string; epsilonCharged?: number } }).body;
  if (problems.length > 0 || !body) return problems;
  if (release.sellerId !== undefined && body.sellerId !== release.sellerId)
    problems.push(
      `it is stated for seller ${body.sellerId}, not ${release.sellerId} whose perimeter was asked`,
    );
  if (release.epsilonSpent !== undefined && body.epsilonCharged !== release.epsilonSpent)
    problems.push(`the perimeter charged ε ${body.epsilonCharged}, the history says ${release.epsilonSpent}`);
  return problems;
}

/**
 * The logged perimeter key that signed the release, if it spoke for the seller when the release was
 * made (a rotated perimeter's older releases stay valid); a problem if it was retired by then or not
 * yet registered; undefined where the log's keys do not include the statement's (then the newest key
 * is the one checked, and the mismatch is named).
 */
function perimeterKeyAt(
  release: Release,
  known: PartyKeys | undefined,
): string | { problem: string } | undefined {
  const signer = (release.statement as { publicKey?: unknown } | undefined)?.publicKey;
  if (!known || typeof signer !== 'string') return undefined;
  const signing = keyThatSigned(known, (key) => key === signer, release.at);
  if (signing.kind === 'valid') return signing.key;
  if (signing.kind === 'retired')
    return { problem: retiredKeyProblem('the release statement', signing, release.at) };
  return undefined;
}

/** A milestone's checks are one run: every verdict of it states the same ε, charged once. */
function verdictChargeProblems(releases: Release[]): string[] {
  const byMilestone = new Map<string, Set<number>>();
  for (const release of releases) {
    const body = (
      release.statement as {
        body?: { kind?: string; subject?: { milestoneId: string }; epsilonCharged?: number };
      }
    )?.body;
    if (body?.kind !== 'milestone_verdict' || !body.subject) continue;
    const charges = byMilestone.get(body.subject.milestoneId) ?? new Set<number>();
    charges.add(body.epsilonCharged ?? Number.NaN);
    byMilestone.set(body.subject.milestoneId, charges);
  }
  return [...byMilestone]
    .filter(([, charges]) => charges.size > 1)
    .map(
      ([milestone, charges]) =>
        `milestone ${milestone}'s verdicts state different runs' ε: ${[...charges].join(', ')}`,
    );
}

/** A multi-seller sum adds exactly the contributions the sellers signed for, no other ciphertext. */
function sumProblems(bundle: SignedBundle, releases: Release[]): string[] {
  const signed = new Set(
    releases.filter((r) => r.expected.kind === 'he_contribution').map((r) => r.expected.commitment),
  );
  return callsOfSubject(bundle.body.subject, bundle.body.runs)
    .filter((c) => c.completed && c.activityType === 'sumCiphertexts')
    .flatMap((c) => (c.input[0] as { contributionRefs?: string[] }).contributionRefs ?? [])
    .filter((ref) => !signed.has(encryptedAnswerCommitment(ref)))
    .map((ref) => `the sum adds ${ref}, which no seller's perimeter released`);
}

/**
 * Every release the histories record (a sealed table, an HE selection or contribution, a subscription
 * delivery, a milestone verdict) must come with its seller's perimeter's statement, signed by the key
 * the auditor pinned or read from the log for that seller (never a key the bundle carries), naming the
 * release's kind, its id, the signed terms, what was delivered, and the ε the history charged. A
 * release without one was not the seller's: the operator made it.
 */
export function checkReleaseStatements(
  bundle: SignedBundle,
  perimeterKeys?: PerimeterKeys,
  logged?: LoggedPerimeterKeys,
): CheckResult[] {
  const releases = releasesOf(bundle);
  if (releases.length === 0) return [skipped(CHECK, 'nothing was released')];
  if (!perimeterKeys)
    return [skipped(CHECK, "give --perimeter-keys FILE or --log: the sellers' perimeter keys")];
  const results = releases.flatMap((release) => {
    if (release.statement === undefined)
      return [
        finding(
          CHECK,
          `the release of ${release.label} carries no statement of its seller's perimeter: the seller did not release it`,
        ),
      ];
    const keyAtTime = release.sellerId ? perimeterKeyAt(release, logged?.[release.sellerId]) : undefined;
    if (typeof keyAtTime === 'object') return [finding(CHECK, `${release.label}: ${keyAtTime.problem}`)];
    const perimeterKey = keyAtTime ?? (release.sellerId ? perimeterKeys[release.sellerId] : undefined);
    if (!perimeterKey)
      return [skipped(CHECK, `no perimeter key is known for seller ${release.sellerId ?? '(unnamed)'}`)];
    return fromProblems(
      CHECK,
      problemsOf(release, perimeterKey).map((p) => `${release.label}: ${p}`),
      `${release.label}: signed by ${release.sellerId}'s perimeter`,
    );
  });
  const across = [...verdictChargeProblems(releases), ...sumProblems(bundle, releases)];
  return [...results, ...across.map((p) => finding(CHECK, p))];
}
