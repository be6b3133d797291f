// @ts-check
import { explain } from './api.js';
import { el, message, replace } from './dom.js';
import { checkGrantExtensions, extensionLine } from './extension-check.js';
import { milestoneActions } from './grant-actions.js';
import { receiptButtons } from './receipts.js';

/**
 * The sponsor's view: its grants (GET /deals?kind=grant lists the caller's own) and, for the one
 * chosen, each milestone's timeline: deadline, evidence, the seller's checks, the payout.
 */

const at = (/** @type {number} */ ms) => new Date(ms).toISOString();

/** One milestone's events, oldest first. @param {any} m */
function milestoneEvents(m) {
  /** @type {[number, string][]} */
  const events = m.evidence.map((/** @type {{ at: number, ref: string }} */ e) => [
    e.at,
    `evidence ${e.ref}`,
  ]);
  if (m.lastCheck)
    events.push([
      m.lastCheck.at,
      `checked: ${m.lastCheck.met ? 'met' : 'not met'}${m.lastCheck.problem ? ` (${m.lastCheck.problem})` : ''}`,
    ]);
  if (m.releasedAt !== undefined) events.push([m.releasedAt, `paid out${m.amount ? ` ${m.amount}` : ''}`]);
  events.push([m.deadline, 'deadline']);
  return events.sort((a, b) => a[0] - b[0]);
}

/**
 * Each milestone's timeline; an open one with what the grantee and the sponsor can sign on it.
 * @param {import('./api.js').Client} client @param {any} grant
 */
function grantTimeline(client, grant) {
  return el('section', { id: 'grant', 'aria-label': `grant ${grant.grantId}` }, [
    el('h3', {}, [`Grant ${grant.grantId}: ${grant.stage}${grant.total ? `, ${grant.total} locked` : ''}`]),
    ...grant.milestones.map((/** @type {any} */ m) =>
      el('div', { class: 'milestone', 'data-milestone': m.milestoneId }, [
        el('h4', {}, [`${m.name} (${m.milestoneId}): ${m.stage}${m.amount ? `, ${m.amount}` : ''}`]),
        el(
          'ol',
          { class: 'timeline' },
          milestoneEvents(m).map(([time, what]) => el('li', {}, [`${at(time)} ${what}`])),
        ),
        ...(m.stage === 'open' ? [milestoneActions(client, grant, m)] : []),
      ]),
    ),
    extensionCheck(client, grant),
  ]);
}

/**
 * The grantee's check of the deadline extensions shown (extension-check.js): each one verified (the
 * sponsor's signature, in the log) or named as not binding.
 * @param {import('./api.js').Client} client @param {any} grant
 */
function extensionCheck(client, grant) {
  const shown = grant.extensions ?? [];
  const results = el('div', { 'aria-live': 'polite' });
  const check = el('button', { type: 'button' }, ['Check the extensions against the log']);
  check.addEventListener('click', () => {
    replace(results, message('Checking against the transparency log…'));
    (async () => {
      const operatorKey = client.operatorKey || (await client.get('/operator/key')).publicKey;
      return checkGrantExtensions(client, grant, operatorKey);
    })().then(
      (findings) =>
        replace(
          results,
          findings.length === 0
            ? message(`Grant ${grant.grantId}: no deadline extension shown.`)
            : el(
                'ul',
                { class: 'extension-findings' },
                findings.map((f) =>
                  el('li', { 'data-extension': f.problem ? 'not-binding' : 'verified' }, [extensionLine(f)]),
                ),
              ),
          ...(findings.some((f) => f.problem)
            ? [message('An extension is not binding: settlement keeps the earlier deadline.', 'error')]
            : []),
        ),
      (error) => replace(results, message(explain(error), 'error')),
    );
  });
  return el('section', { class: 'extensions', 'aria-label': 'deadline extensions' }, [
    el('h4', {}, [`Deadline extensions shown: ${shown.length}`]),
    check,
    results,
  ]);
}

/** @param {import('./api.js').Client} client @param {HTMLElement} root */
export async function showSponsor(client, root) {
  const detail = el('div', { 'aria-live': 'polite' });
  const listed = await client.get('/deals?kind=grant');
  const rows = listed.deals.map((/** @type {{ id: string, stage: string, startedAt: string }} */ g) => {
    const show = el('button', { type: 'button' }, ['Milestones']);
    show.addEventListener('click', () => {
      client.get(`/grants/${encodeURIComponent(g.id)}`).then(
        (grant) => replace(detail, grantTimeline(client, grant)),
        (error) => replace(detail, message(explain(error), 'error')),
      );
    });
    return el('tr', { 'data-grant': g.id }, [
      el('td', {}, [g.id]),
      el('td', {}, [g.stage]),
      el('td', {}, [g.startedAt]),
      el('td', {}, [
        show,
        ...receiptButtons(client, `/grants/${encodeURIComponent(g.id)}/receipt`, g.id, detail),
      ]),
    ]);
  });
  const head = el(
    'tr',
    {},
    ['Grant', 'Stage', 'Started', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  replace(
    root,
    el('h2', {}, ['Your grants']),
    el('table', { id: 'grants' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    detail,
  );
}
