// @ts-check
import { keptTerms } from './key-store.js';

/**
 * The buyer accepts an answer (of a deal or a subscription), and signs a decision about a deal, only
 * for terms it signed in this browser: the hash kept when it signed them (key-store.js) must be the one the deal's scope and its
 * seller's release statement name, as `tusk buyer result` requires of the terms its home kept. The
 * operator can run a deal on other terms this buyer once signed, or show another hash; the page then
 * refuses, and signs nothing about it.
 */

/** @typedef {{ workflowId: string, runId: string, subject: { id: string, termsHash: string } }} Scope */

/** What a person calls each kind of lifecycle in a message. */
const NOUNS = /** @type {Record<string, string>} */ ({ cohort_query: 'deal', subscription: 'subscription' });

/**
 * The hash of the terms signed here for a lifecycle (a deal unless told); throws when none were.
 * @param {string} partyId @param {string} id @param {string} [kind]
 */
export async function signedTermsHash(partyId, id, kind = 'cohort_query') {
  const kept = await keptTerms(partyId, kind, id);
  if (!kept)
    throw new Error(
      `no terms for ${NOUNS[kind] ?? kind} ${id} were signed in this browser as ${partyId}: the page accepts only answers ` +
        'to terms it signed (one signed with the CLI opens with the CLI, from the home that signed it)',
    );
  return kept.termsHash;
}

/**
 * Why the lifecycle's scope is not about the terms signed here, or '' when it is.
 * @param {string} id @param {Scope | undefined} scope @param {string} termsHash @param {string} [kind]
 */
export function scopeProblem(id, scope, termsHash, kind = 'cohort_query') {
  const noun = NOUNS[kind] ?? kind;
  if (!scope || scope.subject?.id !== id) return `${noun} ${id} shows no decision scope for itself`;
  if (scope.subject.termsHash !== termsHash)
    return `${noun} ${id} names terms ${scope.subject.termsHash}, not the ${termsHash} you signed`;
  return '';
}

/**
 * The hash of the terms kept for a lifecycle, and why it is not about them ('' when it is).
 * @param {string} partyId @param {string} id @param {Scope | undefined} scope @param {string} [kind]
 * @returns {Promise<{ termsHash: string, problem: string }>}
 */
export async function keptTermsCheck(partyId, id, scope, kind = 'cohort_query') {
  try {
    const termsHash = await signedTermsHash(partyId, id, kind);
    return { termsHash, problem: scopeProblem(id, scope, termsHash, kind) };
  } catch (error) {
    return { termsHash: '', problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The deal's scope, to sign a decision over; throws unless it names this deal and the terms signed here.
 * @param {string} partyId @param {string} dealId @param {Scope | undefined} scope @returns {Promise<Scope>}
 */
export async function ownScope(partyId, dealId, scope) {
  const problem = scopeProblem(dealId, scope, await signedTermsHash(partyId, dealId));
  if (problem) throw new Error(`Refusing to sign for it: ${problem}.`);
  return /** @type {Scope} */ (scope);
}
