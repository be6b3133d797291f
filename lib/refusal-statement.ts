import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { signEd25519, verifyEd25519 } from './ed25519';

// The margin settlement and the deal workflows allow past the buyer's notAfter (./terms-expiry.ts).
export { EXPIRY_CLOCK_MARGIN_MS } from './terms-expiry';

const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/**
 * What a seller's perimeter says when it refuses a deal: which deal, under which signed terms, and the
 * typed refusal. Nothing secret: no count, no reason text (a reason may depend on the data). The
 * perimeter signs it only once it has recorded that it will never release an answer for these terms
 * (activities/perimeter/privacy-ledger.ts `claimRefusal`), so the statement proves the buyer got
 * nothing: settlement refunds an undelivered escrow on it.
 */
export const refusalStatementBody = z.strictObject({
  type: z.literal('tusk.refusal/v1'),
  sellerId: z.string().min(1),
  /** The deal id the perimeter was asked to answer (the signed terms' deal id). */
  dealId: z.string().min(1),
  /** `termsHashOf` the signed terms it refused. */
  termsHash: sha256,
  /** The perimeter's typed refusal (`TermsExpired`, `BudgetExhausted`, ...). */
  code: z.string().regex(/^[A-Za-z]{1,64}$/),
});
export type RefusalStatementBody = z.infer<typeof refusalStatementBody>;

export const refusalStatement = z.strictObject({
  body: refusalStatementBody,
  /** base64url raw Ed25519 public key of the perimeter that signed (its release key). */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type RefusalStatement = z.infer<typeof refusalStatement>;

// Its own domain: a release statement's signature never verifies as a refusal, nor the reverse.
const message = (body: RefusalStatementBody) => `tusk refusal v1\n${canonicalJson(body)}`;

export function signRefusalStatement(
  body: RefusalStatementBody,
  key: { publicKey: string; privateKeyPem: string },
): RefusalStatement {
  return { body, publicKey: key.publicKey, signature: signEd25519(key.privateKeyPem, message(body)) };
}

/** What the one checking expects: the perimeter key from the log or its own pins, never the statement's. */
export interface RefusalExpectation {
  perimeterKey: string;
  sellerId: string;
  dealId: string;
  termsHash: string;
}

/** Every reason the statement is not this seller's perimeter refusing this deal; empty when it is. */
export function refusalStatementProblems(statement: unknown, expected: RefusalExpectation): string[] {
  const parsed = refusalStatement.safeParse(statement);
  if (!parsed.success) return ["no well-formed refusal statement signed by the seller's perimeter"];
  const { body, publicKey, signature } = parsed.data;
  const problems: string[] = [];
  if (publicKey !== expected.perimeterKey)
    problems.push(`signed by ${publicKey}, not ${expected.sellerId}'s registered perimeter key`);
  else if (!verifyEd25519(publicKey, message(body), signature))
    problems.push("the perimeter's signature does not verify");
  if (body.sellerId !== expected.sellerId) problems.push(`it is ${body.sellerId}'s refusal`);
  if (body.dealId !== expected.dealId) problems.push(`it refuses deal ${body.dealId}`);
  if (body.termsHash !== expected.termsHash) problems.push('it refuses other terms than these');
  return problems;
}
