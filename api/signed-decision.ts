import { z } from 'zod';
import type { Party } from '../lib/parties';
import {
  decisionSignatureValid,
  type DecisionAction,
  type DecisionScope,
  type SignedDecision,
} from '../lib/signed-decision';
import { decisionSignature } from './common-schemas';
import { ApiError } from './errors';

/**
 * How a signed decision arrives over HTTP: its expiry and signature. The rest of the statement (the
 * run, the subject, the action, the content) is what the request and the workflow's status say, so
 * the API rebuilds it rather than trusting a copy.
 */
export const decisionProof = z.strictObject({
  /** Milliseconds since the epoch; the decision is refused from then on. */
  notAfter: z.int().positive(),
  signature: decisionSignature,
});
export type DecisionProof = z.infer<typeof decisionProof>;

/**
 * A signed read or view arrives on a GET, in the query string: its nonce makes each one a new
 * statement, used once.
 */
export const viewProof = z.strictObject({
  notAfter: z.coerce.number().int().positive(),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'a nonce of 16 to 64 base64url characters'),
  signature: decisionSignature,
});
export type ViewProof = z.infer<typeof viewProof>;

/**
 * An auditor's signed export of a deal's audit bundle, in the query string: the disclosure it is
 * exported under, and the `bundle_export` decision signed over that disclosure's scope (its nonce
 * makes each export a new statement, used once). All or nothing.
 */
export const exportProof = viewProof
  .partial()
  .extend({ disclosureId: z.string().min(1).max(100).optional() });
export type ExportProof = z.infer<typeof exportProof>;

/** The scope every status shows, so a signer knows the run and subject it signs for. */
export { decisionScope } from '../lib/decision-statement';

/**
 * The party's signed decision, checked early: the workflow's coordinator verifies it again before
 * anything counts, whoever sends it to Temporal; this only turns a bad signature into a clear 4xx.
 */
export function signedByParty<C>(
  party: Party,
  scope: DecisionScope | undefined,
  action: DecisionAction,
  content: C,
  { notAfter, signature }: DecisionProof,
): SignedDecision<C> {
  if (!scope) throw new ApiError('invalid_state', 'it is still starting; try again in a moment');
  if (notAfter <= Date.now())
    throw new ApiError(
      'decision_expired',
      `the signed decision expired at ${new Date(notAfter).toISOString()}`,
    );
  const signed = { statement: { ...scope, action, principal: party.id, content, notAfter }, signature };
  if (!decisionSignatureValid(party.publicKey, signed))
    throw new ApiError(
      'decision_signature_invalid',
      `signature is not ${party.id}'s over this ${action} on run ${scope.runId} of ${scope.workflowId} (see lib/signed-decision.ts)`,
    );
  return signed;
}
