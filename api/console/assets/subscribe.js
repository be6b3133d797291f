// @ts-check
import { keepTerms } from './key-store.js';
import { el } from './dom.js';
import { base64url, signTerms, termsHashOf } from './tusk-crypto.js';

/**
 * Subscribing in the page, as `tusk buyer subscribe` does: the subscription's terms (template, its
 * parameters, price per period, period length, how many periods at most, the result key) are signed
 * here and kept in this browser before they are sent, so each period's answers open only for them.
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {{ id: string, seller: string, hash: string, price: string }} Template
 */

/** The terms' lifetime and the number of periods the CLI signs unless told (lib/signed-terms.ts). */
const TERMS_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * The signed create request of a subscription to one template.
 * @param {Client} client @param {HeldKey} resultKey @param {Template} template
 * @param {Record<string, string | number>} parameters @param {{ feeBps?: number }} listing
 * @param {{ jurisdiction: string, purpose: string, acceptedDataClasses: string[] }} compliance
 * @param {{ periodSeconds: number, periods: number }} schedule
 */
export async function subscriptionRequest(
  client,
  resultKey,
  template,
  parameters,
  listing,
  compliance,
  schedule,
) {
  const body = {
    nonce: base64url(crypto.getRandomValues(new Uint8Array(16))),
    feeBps: listing.feeBps,
    notAfter: new Date(Date.now() + TERMS_LIFETIME_MS).toISOString(),
    subscriptionId: crypto.randomUUID(),
    queries: [
      { templateId: template.id, sellerId: template.seller, templateHash: template.hash, parameters },
    ],
    pricePerPeriod: template.price,
    periodSeconds: schedule.periodSeconds,
    periods: schedule.periods,
    buyerPublicKey: resultKey.publicKey,
    compliance,
  };
  const signed = {
    ...body,
    termsSignature: await signTerms('subscription', client.partyId, client.signingKey, body),
  };
  // Kept before it is sent: a period's answers are accepted only for terms kept here (deal-terms.js).
  const termsHash = await termsHashOf('subscription', client.partyId, client.signingKey.publicKey, signed);
  await keepTerms(client.partyId, 'subscription', body.subscriptionId, { request: signed, termsHash });
  return signed;
}

/**
 * A labelled whole number from 1.
 * @param {string} id @param {string} label @param {string} value
 */
const wholeField = (id, label, value) =>
  el('div', { class: 'field' }, [
    el('label', { for: id }, [label]),
    el('input', { id, type: 'number', min: '1', step: '1', value, required: '' }),
  ]);

/**
 * The schedule fields and the subscribe button of a purchase form. `schedule()` reads them; a value
 * that is not a whole number from 1 is refused here, before anything is signed.
 * @param {Template} template
 */
export function subscriptionFields(template) {
  const fields = el('fieldset', { id: 'subscribe' }, [
    el('legend', {}, ['Or subscribe: these terms run every period']),
    wholeField('period-seconds', 'Period (seconds)', '86400'),
    wholeField('periods', 'Periods at most', '12'),
    el('button', { type: 'button', id: 'subscribe-button' }, [`Subscribe for ${template.price} a period`]),
  ]);
  const whole = (/** @type {string} */ id, /** @type {string} */ name) => {
    const value = Number(/** @type {HTMLInputElement} */ (fields.querySelector(`#${id}`)).value);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a whole number from 1.`);
    return value;
  };
  const schedule = () => ({
    periodSeconds: whole('period-seconds', 'The period'),
    periods: whole('periods', 'Periods at most'),
  });
  const button = /** @type {HTMLButtonElement} */ (fields.querySelector('#subscribe-button'));
  return { fields, button, schedule };
}
