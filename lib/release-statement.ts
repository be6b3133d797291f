import { z } from 'zod';
import { canonicalHash, canonicalJson } from './canonical-json';
import { signEd25519, verifyEd25519 } from './ed25519';
import { termsHashOf } from './signed-terms';

/**
 * What a seller's perimeter releases, each kind under the one statement format:
 * - `sealed_table`: a deal's answer sealed to the buyer's X25519 key;
 * - `he_selection`: a private selection's encrypted answers (the commitment names the envelope);
 * - `he_contribution`: one seller's encrypted part of a multi-seller sum (the coordinator adds them);
 * - `subscription_delivery`: one scheduled query of one period (`dealId` is the run id);
 * - `milestone_verdict`: a grant milestone's noisy verdict (`dealId` is the grant id, `subject` says
 *   which milestone and check, and the verdict).
 */
export const RELEASE_KINDS = [
  'sealed_table',
  'he_selection',
  'he_contribution',
  'subscription_delivery',
  'milestone_verdict',
] as const;
export const releaseKind = z.enum(RELEASE_KINDS);
export type ReleaseKind = z.infer<typeof releaseKind>;

const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** What a milestone verdict decides: which milestone, which check of it, and the bit itself. */
export const verdictSubject = z.strictObject({
  milestoneId: z.string().min(1),
  checkId: z.string().min(1),
  met: z.boolean(),
});
export type VerdictSubject = z.infer<typeof verdictSubject>;

/**
 * What a seller's perimeter says it released, under the perimeter's own Ed25519 key: for which deal
 * and which signed terms, the commitment of what it released, and the privacy it charged under which
 * signed dataset policy. It holds ids, hashes and ε only, so it may travel in workflow histories; the
 * consumer of the release checks it before accepting it, and an auditor checks it against the charges.
 */
export const releaseStatementBody = z.strictObject({
  type: z.literal('tusk.release/v1'),
  kind: releaseKind,
  sellerId: z.string().min(1),
  /** The id the signed terms name the release under: a deal id, a subscription run id, a grant id. */
  dealId: z.string().min(1),
  /** Only for a milestone verdict. */
  subject: verdictSubject.optional(),
  /** `termsHashOf` the signed terms the release answered (the buyer's, subscriber's or sponsor's). */
  termsHash: sha256,
  /** A sealed answer's `resultCommitment`; an HE answer's blob reference; a verdict's statement hash. */
  commitment: sha256,
  epsilonCharged: z.number().min(0),
  deltaCharged: z.number().min(0),
  datasetPolicy: z.strictObject({ version: z.number().int(), hash: z.string() }),
});
export type ReleaseStatementBody = z.infer<typeof releaseStatementBody>;

export const releaseStatement = z.strictObject({
  body: releaseStatementBody,
  /** base64url raw Ed25519 public key of the perimeter that signed. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type ReleaseStatement = z.infer<typeof releaseStatement>;

const message = (body: ReleaseStatementBody) => `tusk release v1\n${canonicalJson(body)}`;

/** An encrypted answer's commitment: its envelope named by content address (the blob reference). */
export const encryptedAnswerCommitment = (ref: string) => canonicalHash({ resultRef: ref });

/** A statement names the terms as decisions do: the whole signed envelope, signature included. */
export { termsHashOf };

export function signReleaseStatement(
  body: ReleaseStatementBody,
  key: { publicKey: string; privateKeyPem: string },
): ReleaseStatement {
  return { body, publicKey: key.publicKey, signature: signEd25519(key.privateKeyPem, message(body)) };
}

/** What the one checking expects: the key from the log or its own pins, never from the statement. */
export interface ReleaseExpectation {
  perimeterKey: string;
  dealId: string;
  commitment: string;
  /** The kind of release the consumer received; a statement of another kind does not vouch for it. */
  kind?: ReleaseKind;
  termsHash?: string;
  /** A verdict's consumer: the milestone, check and verdict it was told. */
  subject?: VerdictSubject;
}

function subjectProblems(body: ReleaseStatementBody, expected: ReleaseExpectation): string[] {
  if (expected.kind !== undefined && body.kind !== expected.kind)
    return [`it states a ${body.kind} release, not the ${expected.kind} delivered`];
  if (expected.subject === undefined) return [];
  const given = body.subject;
  if (!given) return ['it names no milestone verdict'];
  const problems: string[] = [];
  if (given.milestoneId !== expected.subject.milestoneId || given.checkId !== expected.subject.checkId)
    problems.push(
      `it decides milestone ${given.milestoneId} check ${given.checkId}, not ${expected.subject.milestoneId} check ${expected.subject.checkId}`,
    );
  if (given.met !== expected.subject.met)
    problems.push(`the seller's verdict is ${given.met ? 'met' : 'not met'}, not what was recorded`);
  return problems;
}

/** Every reason the statement is not the seller's word for this release; empty when it is. */
export function releaseStatementProblems(statement: unknown, expected: ReleaseExpectation): string[] {
  const parsed = releaseStatement.safeParse(statement);
  if (!parsed.success) return ['no well-formed release statement signed by the seller comes with the answer'];
  const { body, publicKey, signature } = parsed.data;
  const problems: string[] = [];
  if (publicKey !== expected.perimeterKey)
    problems.push(
      `signed by ${publicKey}, not the seller's registered perimeter key ${expected.perimeterKey}`,
    );
  else if (!verifyEd25519(publicKey, message(body), signature))
    problems.push("the perimeter's signature does not verify");
  if (body.dealId !== expected.dealId)
    problems.push(`it releases deal ${body.dealId}, not ${expected.dealId}`);
  if (body.commitment !== expected.commitment)
    problems.push(
      `the seller released commitment ${body.commitment}, not the ${expected.commitment} delivered`,
    );
  if (expected.termsHash !== undefined && body.termsHash !== expected.termsHash)
    problems.push('it answers other terms than the ones the buyer signed');
  problems.push(...subjectProblems(body, expected));
  return problems;
}
