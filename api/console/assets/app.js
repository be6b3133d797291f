// @ts-check
import { Client, explain } from './api.js';
import { showBuyer } from './buyer.js';
import { el, message, replace } from './dom.js';
import { showAuditor } from './audit.js';
import { showOperator, showSeller } from './roles.js';
import { showReviews } from './review-seller.js';
import { showProposals } from './reviews.js';
import { showSponsor } from './sponsor.js';
import { generateKeyFile, importKeyFile } from './tusk-crypto.js';

/**
 * The session: a party id and its keys, held in this page's memory as non-extractable CryptoKeys.
 * Reloading the page forgets them.
 */
const session = {
  /** @type {import('./tusk-crypto.js').HeldKey | undefined} */ signing: undefined,
  /** @type {import('./tusk-crypto.js').HeldKey | undefined} */ result: undefined,
};

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const status = byId('key-status');
const view = byId('view');

/** @param {HTMLInputElement} input */
async function readKeyFile(input, algorithm) {
  const file = input.files?.[0];
  if (!file) return undefined;
  return importKeyFile(await file.text(), algorithm);
}

/** Offers a PEM as a file download, without sending it anywhere. @param {string} pem @param {string} name */
function download(pem, name) {
  const url = URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' }));
  const link = el('a', { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

byId('signing-key').addEventListener('change', (event) => {
  readKeyFile(/** @type {HTMLInputElement} */ (event.target), 'Ed25519').then(
    (key) => {
      session.signing = key;
      replace(status, message(key ? `Signing key loaded (public key ${key.publicKey}).` : 'No file chosen.'));
    },
    (error) => replace(status, message(explain(error), 'error')),
  );
});

byId('result-key').addEventListener('change', (event) => {
  readKeyFile(/** @type {HTMLInputElement} */ (event.target), 'X25519').then(
    (key) => {
      session.result = key;
      replace(status, message(key ? `Result key loaded (public key ${key.publicKey}).` : 'No file chosen.'));
    },
    (error) => replace(status, message(explain(error), 'error')),
  );
});

/** Makes both keys here, holds them, and offers their files for download. */
async function makeKeys() {
  const partyId = /** @type {HTMLInputElement} */ (byId('party-id')).value || 'party';
  const signing = await generateKeyFile('Ed25519');
  const result = await generateKeyFile('X25519');
  session.signing = signing.held;
  session.result = result.held;
  download(signing.pem, `${partyId}.ed25519.pem`);
  download(result.pem, `${partyId}.x25519.pem`);
  replace(
    status,
    message(
      `Keys made here and downloaded. Ask the operator to register ${signing.held.publicKey}: ` +
        `tusk operator party add ${partyId} --public-key ${signing.held.publicKey}`,
    ),
  );
}

byId('generate').addEventListener('click', () => {
  makeKeys().catch((error) => replace(status, message(explain(error), 'error')));
});

/** @param {string} role */
async function show(role) {
  try {
    const partyId = /** @type {HTMLInputElement} */ (byId('party-id')).value.trim();
    const pinned = /** @type {HTMLInputElement} */ (byId('operator-key')).value.trim();
    const client = partyId && session.signing ? new Client(partyId, session.signing, pinned) : undefined;
    // Health is public; the attention queue needs an operator party's signature.
    if (role === 'operator') return await showOperator(view, client);
    if (!client)
      return replace(view, message('Enter your party id and load your signing key first.', 'error'));
    if (role === 'buyer') await showBuyer(client, session.result, view);
    else if (role === 'auditor') await showAuditor(client, view);
    else if (role === 'sponsor') await showSponsor(client, view);
    else if (role === 'proposals')
      await showProposals(client, session.result, view, () => void show('buyer'));
    else if (role === 'reviews') await showReviews(client, view);
    else await showSeller(client, view);
  } catch (error) {
    replace(view, message(explain(error), 'error'));
  }
}

for (const button of document.querySelectorAll('[data-role]'))
  button.addEventListener('click', () => void show(button.getAttribute('data-role') ?? ''));
