// @ts-check
import { explain } from './api.js';
import { el, message, replace } from './dom.js';
import { keepTerms } from './key-store.js';
import { verifyEd25519 } from './release-check.js';
import { canonicalJson, termsBodyOf, termsHashOf } from './tusk-crypto.js';

/**
 * Terms signed with the CLI, imported so the deal they started can be followed, confirmed, disputed
 * and its receipt downloaded here. The CLI keeps each envelope it signs beside its home's other copies
 * ($TUSK_HOME/terms/<party>/<kind>-<id>.signed.json, cli/settlement/kept-terms.ts). The page believes
 * no field of the file: the signature must verify under the signing key loaded here, and the hash that
 * names the terms is computed here (lib/signed-terms.ts's termsHashOf), so a file with another body, a
 * foreign signature or a wrong hash is refused before anything is kept.
 */

/** The kinds the page follows, with the request field that names each lifecycle. */
const ID_FIELDS = /** @type {Record<string, string>} */ ({
  cohort_query: 'dealId',
  subscription: 'subscriptionId',
});

const isRecord = (/** @type {unknown} */ v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why the parsed file is not a kept-terms envelope (its shape only), or ''.
 * @param {any} file
 */
function shapeProblem(file) {
  if (!isRecord(file) || file.type !== 'tusk.kept-terms/v1')
    return 'it is not a file of terms the CLI kept (type tusk.kept-terms/v1)';
  for (const field of ['kind', 'id', 'signer', 'publicKey', 'termsHash'])
    if (typeof file[field] !== 'string' || file[field] === '') return `its ${field} is missing`;
  if (!(file.kind in ID_FIELDS))
    return `it keeps ${file.kind} terms; the page follows deals (cohort_query) and subscriptions`;
  if (!isRecord(file.request) || typeof file.request.termsSignature !== 'string')
    return 'it holds no signed request';
  if (file.request[ID_FIELDS[file.kind]] !== file.id)
    return `its request is for ${file.request[ID_FIELDS[file.kind]]}, not ${file.id}`;
  if (!/^sha256:[0-9a-f]{64}$/.test(file.termsHash)) return 'its terms hash is malformed';
  return '';
}

/**
 * Checks a kept-terms file for this party and its loaded key; returns what to keep, or throws why not.
 * @param {string} text @param {string} partyId @param {string} publicKey the loaded signing key's
 */
export async function checkKeptTermsFile(text, partyId, publicKey) {
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    throw new Error('Refusing the terms file: it is not JSON.');
  }
  const shape = shapeProblem(file);
  if (shape) throw new Error(`Refusing the terms file: ${shape}.`);
  if (file.signer !== partyId)
    throw new Error(`Refusing the terms file: they were signed by ${file.signer}, not ${partyId}.`);
  if (file.publicKey !== publicKey)
    throw new Error(
      `Refusing the terms file: they were signed with key ${file.publicKey}, not the signing key loaded here (${publicKey}).`,
    );
  const { termsSignature, ...request } = file.request;
  const body = await termsBodyOf(request);
  const signedText = 'tusk terms v1\n' + canonicalJson({ kind: file.kind, signer: partyId, publicKey, body });
  if (!(await verifyEd25519(publicKey, signedText, termsSignature)))
    throw new Error('Refusing the terms file: its signature does not verify (changed after signing?).');
  const termsHash = await termsHashOf(file.kind, partyId, publicKey, file.request);
  if (termsHash !== file.termsHash)
    throw new Error(
      `Refusing the terms file: its terms hash is ${file.termsHash}, but the signed terms hash to ${termsHash}.`,
    );
  return {
    kind: /** @type {string} */ (file.kind),
    id: /** @type {string} */ (file.id),
    request: file.request,
    termsHash,
  };
}

/**
 * The labelled file input; on a good file the terms are kept in this browser and `imported` runs.
 * @param {import('./api.js').Client} client @param {(kind: string, id: string) => void} imported
 */
export function termsImportForm(client, imported) {
  const status = el('div', { 'aria-live': 'polite' });
  const input = /** @type {HTMLInputElement} */ (
    el('input', { id: 'terms-file', type: 'file', accept: '.json,application/json' })
  );
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    (async () => {
      const kept = await checkKeptTermsFile(await file.text(), client.partyId, client.signingKey.publicKey);
      await keepTerms(client.partyId, kept.kind, kept.id, {
        request: kept.request,
        termsHash: kept.termsHash,
      });
      return kept;
    })().then(
      (kept) => {
        const noun = kept.kind === 'subscription' ? 'subscription' : 'deal';
        replace(
          status,
          message(`Terms of ${noun} ${kept.id} imported: signed by you, terms ${kept.termsHash}.`),
        );
        imported(kept.kind, kept.id);
      },
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  return el('div', { class: 'field terms-import' }, [
    el('label', { for: 'terms-file' }, [
      'Import terms signed with the CLI (<kind>-<id>.signed.json under $TUSK_HOME/terms/<party>/)',
    ]),
    input,
    status,
  ]);
}
