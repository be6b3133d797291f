// @ts-check
import { keptTerms } from './key-store.js';

/**
 * The buyer accepts an answer, and signs a decision about a deal, only for terms it signed in this
 * browser: the hash kept when it signed them (key-store.js) must be the one the deal's scope and its
 * seller's release statement name, as `tusk buyer result` requires of the terms its home kept. The
 * operator can run a deal on other terms this buyer once signed, or show another hash; the page then
 * refuses, and signs nothing about it.
 */

/** @typedef {{ workflowId: string, runId: string, subject: { id: string, termsHash: string } }} Scope */

/**
 * The hash of the terms signed here for a deal; throws when none were.
 * @param {string} partyId @param {string} dealId
 */
export async function signedTermsHash(partyId, dealId) {
  const kept = await keptTerms(partyId, 'cohort_query', dealId);
  if (!kept)
    throw new Error(
      `no terms for deal ${dealId} were signed in this browser as ${partyId}: the page accepts only answers ` +
        'to terms it signed (a deal bought with the CLI opens with tusk buyer result, from the home that signed it)',
    );
  return kept.termsHash;
}

/**
 * Why the deal's scope is not about the terms signed here, or '' when it is.
 * @param {string} dealId @param {Scope | undefined} scope @param {string} termsHash
 */
export function scopeProblem(dealId, scope, termsHash) {
  if (!scope || scope.subject?.id !== dealId) return `deal ${dealId} shows no decision scope for itself`;
  if (scope.subject.termsHash !== termsHash)
    return `deal ${dealId} names terms ${scope.subject.termsHash}, not the ${termsHash} you signed`;
  return '';
}

/**
 * The hash of the terms kept for a deal, and why the deal is not about them ('' when it is).
 * @param {string} partyId @param {string} dealId @param {Scope | undefined} scope
 * @returns {Promise<{ termsHash: string, problem: string }>}
 */
export async function keptTermsCheck(partyId, dealId, scope) {
  try {
    const termsHash = await signedTermsHash(partyId, dealId);
    return { termsHash, problem: scopeProblem(dealId, scope, termsHash) };
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
