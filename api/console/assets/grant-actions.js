// @ts-check
import { explain } from './api.js';
import { el, message, replace } from './dom.js';
import { sha256Hex, signDecision } from './tusk-crypto.js';

/**
 * What a grant's parties sign in the page, as lib/signed-actions.ts signs it for the CLI: the grantee's
 * evidence for a milestone (its content address, so the text cannot be swapped after signing) and the
 * sponsor's approval of a milestone, each over the grant's run and terms (its scope). The grant's
 * workflow acts only on these signatures, whoever relays them.
 */

const grantPath = (/** @type {string} */ grantId) => `/grants/${encodeURIComponent(grantId)}`;
const milestonePath = (/** @type {string} */ grantId, /** @type {string} */ milestoneId) =>
  `${grantPath(grantId)}/milestones/${encodeURIComponent(milestoneId)}`;

/**
 * A decision over the grant's scope as its status shows it now; refuses a scope about another grant.
 * @param {import('./api.js').Client} client @param {string} grantId @param {string} action @param {unknown} content
 */
async function decide(client, grantId, action, content) {
  const { scope } = await client.get(grantPath(grantId));
  if (!scope || scope.subject?.id !== grantId)
    throw new Error(`grant ${grantId} shows no decision scope for itself yet: refusing to sign`);
  return signDecision(client.signingKey.privateKey, scope, action, client.partyId, content);
}

/** @param {import('./api.js').Client} client @param {string} grantId @param {string} milestoneId @param {string} evidence */
export async function submitEvidence(client, grantId, milestoneId, evidence) {
  const ref = `sha256:${await sha256Hex(evidence)}`;
  const proof = await decide(client, grantId, 'grant_evidence', { milestoneId, ref });
  return client.post(`${milestonePath(grantId, milestoneId)}/evidence`, { evidence, ...proof });
}

/** @param {import('./api.js').Client} client @param {string} grantId @param {string} milestoneId */
export async function approveMilestone(client, grantId, milestoneId) {
  const proof = await decide(client, grantId, 'milestone_approval', { milestoneId });
  return client.post(`${milestonePath(grantId, milestoneId)}/approve`, proof);
}

/**
 * What a party can do on an open milestone: the grantee submits evidence, the sponsor approves one
 * that waits for its approval. The API and the workflow refuse whichever is not this party's to do.
 * @param {import('./api.js').Client} client @param {any} grant @param {any} milestone
 */
export function milestoneActions(client, grant, milestone) {
  const status = el('div', { 'aria-live': 'polite' });
  const done = (/** @type {string} */ what) => (/** @type {any} */ updated) =>
    replace(status, message(`${what}; grant ${updated.stage ?? grant.stage}.`));
  const failed = (/** @type {unknown} */ error) => replace(status, message(explain(error), 'error'));
  const id = `evidence-${milestone.milestoneId}`;
  const text = /** @type {HTMLTextAreaElement} */ (
    el('textarea', { id, rows: '2', cols: '50', required: '' })
  );
  const form = el('form', { 'aria-label': `evidence for ${milestone.milestoneId}` }, [
    el('label', { for: id }, [`Evidence for ${milestone.name} (grantee)`]),
    text,
    el('button', { type: 'submit' }, ['Submit evidence (signed here)']),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitEvidence(client, grant.grantId, milestone.milestoneId, text.value).then(
      done(`Evidence for ${milestone.milestoneId} submitted`),
      failed,
    );
  });
  const approve = el('button', { type: 'button' }, [
    `Approve ${milestone.milestoneId} (sponsor, signed here)`,
  ]);
  approve.addEventListener('click', () => {
    approveMilestone(client, grant.grantId, milestone.milestoneId).then(
      done(`Milestone ${milestone.milestoneId} approved`),
      failed,
    );
  });
  const waitsForApproval = milestone.check?.kind === 'sponsor_approval';
  return el('div', { class: 'milestone-actions' }, [form, ...(waitsForApproval ? [approve] : []), status]);
}
