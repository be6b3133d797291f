import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { signEd25519, verifyEd25519 } from './ed25519';
import { termsHashOf } from './signed-terms';

/**
 * What a seller's perimeter says it released, under the perimeter's own Ed25519 key: for which deal
 * and which signed terms, the commitment of the sealed answer, and the privacy it charged under which
 * signed dataset policy. It holds ids, hashes and ε only, so it may travel in workflow histories; the
 * buyer's client checks it before accepting an answer, and an auditor checks it against the charges.
 */
export const releaseStatementBody = z.strictObject({
  type: z.literal('tusk.release/v1'),
  sellerId: z.string().min(1),
  dealId: z.string().min(1),
  /** `termsHashOf` the buyer's signed terms the release answered. */
  termsHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** The sealed answer's commitment (`resultCommitment` of its payload). */
  commitment: z.string().regex(/^sha256:[0-9a-f]{64}$/),
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
  termsHash?: string;
}

/** Every reason the statement is not the seller's word for this answer; empty when it is. */
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
  return problems;
}
