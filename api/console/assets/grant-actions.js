// @ts-check
import { explain } from './api.js';
import { el, message, replace } from './dom.js';
import { sha256Hex, signDecision } from './tusk-crypto.js';

/**
 * What a grant's parties sign in the page, as lib/signed-actions.ts signs it for the CLI: the grantee's
 * evidence for a milestone (its content address, so the text cannot be swapped after signing) and the
 * sponsor's approval of a milestone or a later deadline for it, each over the grant's run and terms (its scope). The grant's
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
 * The sponsor moves a milestone's deadline later (lib/signed-actions.ts's extendMilestone): it signs
 * the new deadline in milliseconds since the epoch and sends it as an ISO date-time.
 * @param {import('./api.js').Client} client @param {string} grantId @param {string} milestoneId @param {string} deadline ISO
 */
export async function extendMilestone(client, grantId, milestoneId, deadline) {
  const content = { milestoneId, deadline: Date.parse(deadline) };
  const proof = await decide(client, grantId, 'deadline_extension', content);
  return client.post(`${milestonePath(grantId, milestoneId)}/extend`, { deadline, ...proof });
}

/**
 * The sponsor's form for a later deadline: a date and time in this browser's time zone, signed as the
 * instant it names. An empty or unreadable value is refused here, before anything is signed.
 * @param {import('./api.js').Client} client @param {any} grant @param {any} milestone
 * @param {(what: string) => (updated: any) => void} done @param {(error: unknown) => void} failed
 */
function extensionForm(client, grant, milestone, done, failed) {
  const id = `deadline-${milestone.milestoneId}`;
  const input = /** @type {HTMLInputElement} */ (el('input', { id, type: 'datetime-local', required: '' }));
  const form = el('form', { 'aria-label': `deadline of ${milestone.milestoneId}` }, [
    el('label', { for: id }, [`New deadline for ${milestone.name} (sponsor)`]),
    input,
    el('button', { type: 'submit' }, ['Extend the deadline (signed here)']),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const at = new Date(input.value);
    if (Number.isNaN(at.getTime())) return failed(new Error('Enter the new deadline as a date and time.'));
    const deadline = at.toISOString();
    extendMilestone(client, grant.grantId, milestone.milestoneId, deadline).then(
      done(`Deadline of ${milestone.milestoneId} extended to ${deadline}`),
      failed,
    );
  });
  return form;
}

/**
 * What a party can do on an open milestone: the grantee submits evidence, the sponsor approves one
 * that waits for its approval or moves its deadline later. The API and the workflow refuse whichever is not this party's to do.
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
  const extend = extensionForm(client, grant, milestone, done, failed);
  return el('div', { class: 'milestone-actions' }, [
    form,
    ...(waitsForApproval ? [approve] : []),
    extend,
    status,
  ]);
}
