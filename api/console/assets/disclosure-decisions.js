// @ts-check
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';
import { signDecision } from './tusk-crypto.js';

/**
 * Compliance's decision on a disclosure request, signed in the page as `tusk compliance disclosure
 * decide` signs it (lib/signed-actions.ts's decideDisclosure): over the request's run, its deal and
 * that deal's terms (the scope), and exactly the fields and auditor shown here. The disclosure's
 * workflow counts it only with that signature, whoever relays it.
 */

const path = (/** @type {string} */ id) => `/disclosures/${encodeURIComponent(id)}`;

/**
 * Signs and sends a decision over the request as its status shows it now.
 * @param {import('./api.js').Client} client @param {string} disclosureId @param {'approve' | 'deny'} decision
 */
export async function decideDisclosure(client, disclosureId, decision) {
  const request = await client.get(path(disclosureId));
  if (!request.scope || request.scope.subject?.id !== request.dealId)
    throw new Error(
      `disclosure ${disclosureId} shows no decision scope for deal ${request.dealId} yet: try again in a moment`,
    );
  const content = { decision, fields: request.fields, auditorId: request.auditorId };
  const proof = await signDecision(
    client.signingKey.privateKey,
    request.scope,
    'disclosure_decision',
    client.partyId,
    content,
  );
  return client.post(`${path(disclosureId)}/decisions`, { decision, ...proof });
}

/** @param {any} request */
const requestRows = (request) => [
  ['Deal', request.dealId],
  ['Auditor', request.auditorId],
  ['Reason', request.reason],
  ['Fields', request.fields.join(', ')],
  ['Stage', request.stage],
  ['Decide by', new Date(request.decideBy).toISOString()],
  [
    'Decisions',
    (request.decisions ?? []).map((/** @type {any} */ d) => `${d.principal}: ${d.decision}`).join('; '),
  ],
];

/**
 * What a request asks to disclose, and the buttons that sign a decision on exactly that.
 * @param {import('./api.js').Client} client @param {string} disclosureId
 */
export async function decisionPanel(client, disclosureId) {
  const request = await client.get(path(disclosureId));
  const outcome = el('div', { 'aria-live': 'polite', id: 'disclosure-outcome' });
  const buttons = /** @type {const} */ (['approve', 'deny']).map((decision) => {
    const button = el('button', { type: 'button' }, [
      decision === 'approve' ? 'Approve (signed here)' : 'Deny (signed here)',
    ]);
    button.addEventListener('click', () => {
      decideDisclosure(client, disclosureId, decision).then(
        (status) =>
          replace(
            outcome,
            message(`Disclosure ${disclosureId}: your ${decision} is recorded; ${status.stage}.`),
          ),
        (error) => replace(outcome, message(explain(error), 'error')),
      );
    });
    return button;
  });
  return el('section', { id: 'disclosure', 'aria-label': `disclosure ${disclosureId}` }, [
    el('h3', {}, [`Disclosure ${disclosureId}`]),
    table(['', 'Value'], requestRows(request)),
    ...(request.stage === 'pending' ? buttons : []),
    outcome,
  ]);
}
