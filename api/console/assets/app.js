// @ts-check
import { Client, explain } from './api.js';
import { showBuyer } from './buyer.js';
import { el, message, replace } from './dom.js';
import { showAuditor } from './audit.js';
import { showOperator, showSeller } from './roles.js';
import { showReviews } from './review-seller.js';
import { showProposals } from './reviews.js';
import { showSponsor } from './sponsor.js';
import { forgetKeys, keepKey, keptKeys, keptParties } from './key-store.js';
import { generateKeyFile, importKeyFile } from './tusk-crypto.js';

/** @typedef {import('./tusk-crypto.js').HeldKey} HeldKey */

/**
 * The session: a party id and its keys, held as non-extractable CryptoKeys, in this page's memory and
 * kept in this browser (key-store.js) until "Forget keys". Always the keys of the party id entered.
 * @type {{ partyId: string, signing?: HeldKey, result?: HeldKey }}
 */
let session = { partyId: '' };

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const status = byId('key-status');
const view = byId('view');
const partyInput = /** @type {HTMLInputElement} */ (byId('party-id'));
const enteredParty = () => partyInput.value.trim();

/** The session of a party id, with the keys kept for it here when it changed. @param {string} partyId */
async function sessionOf(partyId) {
  if (session.partyId === partyId) return session;
  const kept = partyId ? await keptKeys(partyId) : {};
  // Another call may have switched to this party meanwhile (and loaded a key into it): keep that one.
  if (session.partyId !== partyId) session = { partyId, ...kept };
  return session;
}

/**
 * Reads a key file into the session of the party id entered, and keeps it in this browser.
 * @param {HTMLInputElement} input @param {'signing' | 'result'} use
 */
async function loadKeyFile(input, use) {
  const partyId = enteredParty();
  if (!partyId) throw new Error('Enter your party id before choosing its key files.');
  const file = input.files?.[0];
  if (!file) return 'No file chosen.';
  const key = await importKeyFile(await file.text(), use === 'signing' ? 'Ed25519' : 'X25519');
  (await sessionOf(partyId))[use] = key;
  await keepKey(partyId, use, key);
  const name = use === 'signing' ? 'Signing' : 'Result';
  return `${name} key loaded (public key ${key.publicKey}) and kept in this browser for ${partyId}.`;
}

/** Offers a PEM as a file download, without sending it anywhere. @param {string} pem @param {string} name */
function download(pem, name) {
  const url = URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' }));
  const link = el('a', { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

for (const [inputId, use] of /** @type {const} */ ([
  ['signing-key', 'signing'],
  ['result-key', 'result'],
]))
  byId(inputId).addEventListener('change', (event) => {
    loadKeyFile(/** @type {HTMLInputElement} */ (event.target), use).then(
      (loaded) => replace(status, message(loaded)),
      (error) => replace(status, message(explain(error), 'error')),
    );
  });

/** Makes both keys here, holds and keeps them, and offers their files for download. */
async function makeKeys() {
  const partyId = enteredParty();
  if (!partyId) throw new Error('Enter the party id the keys are for first.');
  const signing = await generateKeyFile('Ed25519');
  const result = await generateKeyFile('X25519');
  session = { partyId, signing: signing.held, result: result.held };
  await keepKey(partyId, 'signing', signing.held);
  await keepKey(partyId, 'result', result.held);
  download(signing.pem, `${partyId}.ed25519.pem`);
  download(result.pem, `${partyId}.x25519.pem`);
  replace(
    status,
    message(
      `Keys made here, downloaded and kept in this browser. Ask the operator to register ${signing.held.publicKey}: ` +
        `tusk operator party add ${partyId} --public-key ${signing.held.publicKey}`,
    ),
  );
}

/** Deletes the entered party's keys from this browser and this page. */
async function forget() {
  const partyId = enteredParty();
  if (!partyId) throw new Error('Enter the party id whose keys to forget.');
  await forgetKeys(partyId);
  session = { partyId };
  for (const id of ['signing-key', 'result-key']) /** @type {HTMLInputElement} */ (byId(id)).value = '';
  replace(view);
  replace(status, message(`The keys of ${partyId} are forgotten in this browser.`));
}

/** On load: which parties' keys this browser keeps; with one, that party is signed in again. */
async function restore() {
  const parties = await keptParties();
  if (parties.length === 0) return;
  if (!enteredParty() && parties.length === 1) partyInput.value = parties[0] ?? '';
  const kept = await sessionOf(enteredParty());
  const held = [kept.signing ? 'signing' : '', kept.result ? 'result' : ''].filter(Boolean);
  replace(
    status,
    message(
      held.length > 0
        ? `Keys kept in this browser for ${kept.partyId}: ${held.join(' and ')} (signing public key ${kept.signing?.publicKey ?? 'none'}).`
        : `Keys are kept in this browser for ${parties.join(', ')}: enter one of these party ids.`,
    ),
  );
}

byId('generate').addEventListener('click', () => {
  makeKeys().catch((error) => replace(status, message(explain(error), 'error')));
});
byId('forget').addEventListener('click', () => {
  forget().catch((error) => replace(status, message(explain(error), 'error')));
});
restore().catch((error) => replace(status, message(explain(error), 'error')));

/** @param {string} role */
async function show(role) {
  try {
    const partyId = enteredParty();
    const pinned = /** @type {HTMLInputElement} */ (byId('operator-key')).value.trim();
    const { signing, result } = await sessionOf(partyId);
    const client = partyId && signing ? new Client(partyId, signing, pinned) : undefined;
    // Health is public; the attention queue needs an operator party's signature.
    if (role === 'operator') return await showOperator(view, client);
    if (!client)
      return replace(view, message('Enter your party id and load your signing key first.', 'error'));
    if (role === 'buyer') await showBuyer(client, result, view);
    else if (role === 'auditor') await showAuditor(client, view);
    else if (role === 'sponsor') await showSponsor(client, view);
    else if (role === 'proposals') await showProposals(client, result, view, () => void show('buyer'));
    else if (role === 'reviews') await showReviews(client, view);
    else await showSeller(client, view);
  } catch (error) {
    replace(view, message(explain(error), 'error'));
  }
}

for (const button of document.querySelectorAll('[data-role]'))
  button.addEventListener('click', () => void show(button.getAttribute('data-role') ?? ''));
