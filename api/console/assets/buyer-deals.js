// @ts-check
import { explain } from './api.js';
import { el, message, replace } from './dom.js';
import { ownScope } from './deal-terms.js';
import { receiptButtons } from './receipts.js';
import { termsImportForm } from './terms-import.js';
import { signDecision } from './tusk-crypto.js';

/**
 * The buyer's deals (GET /deals lists the caller's own), each with what the buyer can do with it:
 * open its answer (checked as a fresh one is), dispute it with a reason, download its receipt
 * (JSON or PDF).
 */

/**
 * The buyer's signed dispute, over the scope its deal's status shows, the reason part of what it signs
 * (lib/signed-actions.ts's openDispute).
 * @param {import('./api.js').Client} client @param {string} dealId @param {string} reason
 */
export async function openDispute(client, dealId, reason) {
  const path = `/deals/${encodeURIComponent(dealId)}`;
  const scope = await ownScope(client.partyId, dealId, (await client.get(path)).scope);
  const content = { reason };
  const proof = await signDecision(
    client.signingKey.privateKey,
    scope,
    'dispute_opening',
    client.partyId,
    content,
  );
  return client.post(`${path}/dispute`, { reason, ...proof });
}

/**
 * The dispute form of one deal: a labelled reason, required.
 * @param {import('./api.js').Client} client @param {string} dealId @param {HTMLElement} status
 */
function disputeForm(client, dealId, status) {
  const id = `reason-${dealId}`;
  const reason = /** @type {HTMLInputElement} */ (el('input', { id, required: '', maxlength: '2000' }));
  const form = el('form', { 'aria-label': `dispute ${dealId}` }, [
    el('label', { for: id }, ['Reason for the dispute']),
    reason,
    el('button', { type: 'submit' }, ['Open the dispute']),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    openDispute(client, dealId, reason.value.trim()).then(
      (disputed) => replace(status, message(`Deal ${dealId} ${disputed.stage}: the escrow stays locked.`)),
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  return form;
}

/**
 * @param {import('./api.js').Client} client @param {HTMLElement} root
 * @param {(dealId: string) => void} open shows a deal's answer in the deal panel
 * @param {(kind: string, id: string) => void} imported after terms signed with the CLI are imported
 */
export async function showBuyerDeals(client, root, open, imported) {
  const status = el('div', { 'aria-live': 'polite' });
  const listed = await client.get('/deals?kind=deal');
  const rows = (listed.deals ?? []).map(
    (/** @type {{ id: string, stage: string, startedAt: string }} */ d) => {
      const actions = el('td');
      const openButton = el('button', { type: 'button' }, ['Open']);
      openButton.addEventListener('click', () => open(d.id));
      const receipts = receiptButtons(client, `/deals/${encodeURIComponent(d.id)}/receipt`, d.id, status);
      const dispute = el('button', { type: 'button' }, ['Dispute']);
      dispute.addEventListener('click', () => replace(status, disputeForm(client, d.id, status)));
      actions.append(openButton, ...receipts, ...(d.stage === 'delivered' ? [dispute] : []));
      return el('tr', { 'data-deal': d.id }, [
        el('td', {}, [d.id]),
        el('td', {}, [d.stage]),
        el('td', {}, [d.startedAt]),
        actions,
      ]);
    },
  );
  const head = el(
    'tr',
    {},
    ['Deal', 'Stage', 'Started', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  replace(
    root,
    el('h2', {}, ['Your deals']),
    el('table', { id: 'my-deals' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    termsImportForm(client, imported),
    status,
  );
}
