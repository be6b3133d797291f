import type { ExtensionLeaves, ExtensionLog, KeyHistory, RegisteredKeys } from '../../lib/key-log';
import { canonicalHash } from '../../lib/canonical-json';
import { registrationAtLeaf } from '../../lib/transparency/key-registration';
import { extensionLookupKey } from '../../lib/transparency/release-entry';
import { decisionMismatch, decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import type { DeliveryRecords } from './acceptance';
import { consentCheckTime, recordConsentAccepted } from './consent-acceptance';
import { SettlementRefusedError } from './port';

const notDue = (reason: string) => new SettlementRefusedError('RemainderNotDue', reason);

/** What a grant's decisions are signed about: the grant and the hash of the sponsor's terms. */
const subjectOf = (terms: SignedTerms) => ({ id: String(terms.body.grantId), termsHash: termsHashOf(terms) });

/** The log's view settlement judges grant decisions with: keys, their history, logged extensions. */
type GrantKeys = RegisteredKeys & Partial<KeyHistory & ExtensionLeaves>;

/** Where the log holds a statement (its leaf), when it does: the time its signer's key is judged at. */
type LeafOf = (signed: SignedDecision) => Promise<number | undefined>;
const unlogged: LeafOf = async () => undefined;

/**
 * A decision of `principal` under the key the log registers for it (as a `role`, where one is
 * required: a grantee is whoever the sponsor's terms name, of any role), or why not. A decision the
 * log holds (a sponsor's extension) also counts under the key registered at its leaf, so a rotation
 * after it strands nothing, while a retired key's statement logged after the rotation is refused.
 */
async function signedBy(
  signed: SignedDecision,
  principal: string,
  role: string | undefined,
  keys: GrantKeys,
  leafOf: LeafOf = unlogged,
): Promise<string | undefined> {
  const key = await keys.currentKey(principal);
  if (!key || (role !== undefined && key.role !== role))
    return `${principal} is not a registered ${role ?? 'party'}`;
  if (decisionSignatureValid(key.publicKey, signed)) return undefined;
  const leaf = keys.keyPeriods ? await leafOf(signed) : undefined;
  const then = leaf === undefined ? undefined : registrationAtLeaf(await keys.keyPeriods!(principal), leaf);
  if (then && (role === undefined || then.role === role) && decisionSignatureValid(then.publicKey, signed))
    return undefined;
  return `it is not signed by ${principal}'s registered key`;
}

/**
 * Each milestone's deadline as the grant stands: the latest of the one in the sponsor's signed terms
 * and every `deadline_extension` the sponsor signed for it on these terms. An extension only ever
 * moves a deadline later here (it is the sponsor giving the grantee time); an earlier end needs the
 * grantee's own signature (`remainder_consent`), so a sponsor alone never shortens it. Its expiry
 * bounded when the grant could count it, not the remainder that follows; a signature that is not the
 * sponsor's, or about another grant or terms, is refused rather than ignored.
 */
export async function signedDeadlines(
  terms: SignedTerms,
  milestones: readonly { milestoneId: string; deadline: string }[],
  extensions: readonly SignedDecision[] | undefined,
  keys: GrantKeys,
  leafOf: LeafOf = unlogged,
): Promise<Map<string, number>> {
  const deadlines = new Map(milestones.map((m) => [m.milestoneId, Date.parse(m.deadline)]));
  for (const extension of extensions ?? []) {
    const statement = extension?.statement;
    const content = statement?.content as { milestoneId?: unknown; deadline?: unknown } | undefined;
    const milestoneId = String(content?.milestoneId);
    const mismatch =
      !statement || typeof extension.signature !== 'string'
        ? 'it is not signed'
        : decisionMismatch(
            statement,
            {
              scope: {
                workflowId: String(statement.workflowId),
                runId: String(statement.runId),
                subject: subjectOf(terms),
              },
              action: 'deadline_extension',
              principal: terms.signer,
              content: { milestoneId, deadline: content?.deadline },
            },
            typeof statement.notAfter === 'number' ? statement.notAfter - 1 : Number.NaN,
          );
    const problem =
      mismatch ??
      (typeof content?.deadline !== 'number' || !deadlines.has(milestoneId)
        ? `it extends no milestone of ${String(terms.body.grantId)}`
        : await signedBy(extension, terms.signer, 'sponsor', keys, leafOf));
    if (problem) throw notDue(`a deadline extension that came with it is refused: ${problem}`);
    deadlines.set(milestoneId, Math.max(deadlines.get(milestoneId)!, content!.deadline as number));
  }
  return deadlines;
}

/**
 * Why the grantee's signed `remainder_consent` does not give the remainder back early, or undefined
 * when it does: the grantee the sponsor's terms name signed, about this grant and these terms, to give
 * back exactly `unpaid` (what settlement has not paid of the signed milestones), under its logged key,
 * unexpired when settlement first accepted it for this escrow (a retried refund still carries it out).
 */
export async function remainderConsentProblem(
  input: { escrowId: string; terms: SignedTerms; consent: SignedDecision; unpaid: string },
  deps: { keys: RegisteredKeys; records: DeliveryRecords; now: number },
): Promise<string | undefined> {
  const { consent, terms } = input;
  const statement = consent?.statement;
  if (!statement || typeof consent.signature !== 'string') return "the grantee's consent is not signed";
  const granteeId = String(terms.body.granteeId);
  const mismatch = decisionMismatch(
    statement,
    {
      scope: {
        workflowId: String(statement.workflowId),
        runId: String(statement.runId),
        subject: subjectOf(terms),
      },
      action: 'remainder_consent',
      principal: granteeId,
      content: { amount: input.unpaid },
    },
    await consentCheckTime(deps.records, input.escrowId, consent, deps.now),
  );
  if (mismatch) return `the grantee's consent does not give this remainder back: ${mismatch}`;
  const problem = await signedBy(consent, granteeId, undefined, deps.keys);
  if (problem) return `the grantee's consent is refused: ${problem}`;
  await recordConsentAccepted(deps.records, input.escrowId, consent, deps.now);
  return undefined;
}

/**
 * Moves `deadlines` later by every extension of this grant the transparency log holds, whether or not
 * the workflow showed it: an operator who leaves the sponsor's extension out does not end the grant at
 * the original deadline. A logged entry that is not the sponsor's signed extension of these terms binds
 * nobody and is skipped (the operator cannot block a remainder by logging noise). A settlement that
 * reads no extension log cannot tell, and refuses.
 */
export async function extendByLoggedExtensions(
  deadlines: Map<string, number>,
  terms: SignedTerms,
  milestones: readonly { milestoneId: string; deadline: string }[],
  keys: GrantKeys & Partial<ExtensionLog>,
): Promise<void> {
  for (const { document, leafIndex } of await loggedExtensionsOf(terms, keys)) {
    const extension = document as SignedDecision;
    const atLeaf: LeafOf = async () => leafIndex;
    const extended = await signedDeadlines(terms, milestones, [extension], keys, atLeaf).catch(
      () => undefined,
    );
    for (const [milestoneId, deadline] of extended ?? [])
      deadlines.set(milestoneId, Math.max(deadlines.get(milestoneId)!, deadline));
  }
}

/** The extensions the log holds for these terms, with their leaves where the log reader gives them. */
async function loggedExtensionsOf(
  terms: SignedTerms,
  keys: GrantKeys & Partial<ExtensionLog>,
): Promise<{ document: unknown; leafIndex?: number }[]> {
  const lookupKey = extensionLookupKey({
    grantId: String(terms.body.grantId),
    termsHash: termsHashOf(terms),
  });
  if (keys.loggedExtensionLeaves) return keys.loggedExtensionLeaves(lookupKey);
  if (keys.loggedExtensions)
    return (await keys.loggedExtensions(lookupKey)).map((document) => ({ document }));
  throw notDue(
    `settlement reads no extension log, so it cannot tell whether ${String(terms.body.grantId)} was extended`,
  );
}

/**
 * Where the log holds an extension the workflow showed settlement (the same signed document): its
 * leaf is when the sponsor's key is judged, if the current key does not verify it.
 */
export function loggedLeafOf(terms: SignedTerms, keys: GrantKeys & Partial<ExtensionLog>): LeafOf {
  let logged: Promise<{ document: unknown; leafIndex?: number }[]> | undefined;
  return async (signed) => {
    logged ??= loggedExtensionsOf(terms, keys);
    const digest = canonicalHash(signed);
    return (await logged).find((entry) => canonicalHash(entry.document) === digest)?.leafIndex;
  };
}
