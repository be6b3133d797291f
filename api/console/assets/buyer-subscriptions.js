// @ts-check
import { explain } from './api.js';
import { keptTermsCheck } from './deal-terms.js';
import { el, message, replace, table } from './dom.js';
import { releaseProblems } from './release-check.js';
import { fromBase64, openDealResult, openSealedBox } from './tusk-crypto.js';

/**
 * The buyer's subscriptions (GET /deals?kind=subscription lists the caller's own), each one's status
 * and deliveries, and a period's answers opened here as `tusk buyer subscription delivery` opens them:
 * the access token unsealed with the result key, then each answer only if the terms kept here are the
 * subscription's and the seller's perimeter signed its release for them.
 *
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {{ queryIndex: number, runId: string, commitment?: string, ciphertext?: string,
 *   release?: unknown, problem?: { code: string, reason?: string } }} DeliveredResult
 * @typedef {(payload: any, heading: string) => Node} ShowResult
 */

/** The request header the API reads a period's access token from (lib/access-token.ts). */
const ACCESS_TOKEN_HEADER = 'x-tusk-access-token';
const at = (/** @type {number | undefined} */ ms) => (ms === undefined ? '' : new Date(ms).toISOString());
const path = (/** @type {string} */ id) => `/subscriptions/${encodeURIComponent(id)}`;

/**
 * The current period's access token, sealed to the buyer's key (lib/access-token.ts's context).
 * @param {Client} client @param {HeldKey} resultKey @param {string} id
 */
async function accessToken(client, resultKey, id) {
  const sealed = await client.get(`${path(id)}/token`);
  const bytes = await openSealedBox(
    fromBase64(sealed.sealedToken),
    resultKey,
    `tusk access token ${id} ${sealed.period}`,
  );
  return new TextDecoder().decode(bytes);
}

/**
 * One delivered answer, checked then opened; a refusal says why.
 * @param {Client} client @param {HeldKey} resultKey @param {DeliveredResult} result
 * @param {{ sellerId: string, termsHash: string, operatorKey: string }} expected @param {ShowResult} show
 */
async function openDelivered(client, resultKey, result, expected, show) {
  const label = `query ${result.queryIndex} (${result.runId})`;
  if (result.problem || !result.ciphertext || !result.commitment)
    return message(`${label}: ${result.problem?.code ?? 'no answer'}`, 'error');
  const sealed = { dealId: result.runId, ciphertext: result.ciphertext, commitment: result.commitment };
  const problems = await releaseProblems(
    client,
    { ...sealed, release: result.release },
    expected.sellerId,
    expected.operatorKey,
    { termsHash: expected.termsHash, kind: 'subscription_delivery' },
  );
  if (problems.length > 0)
    return message(
      `Refusing ${label}: it is not what seller ${expected.sellerId}'s perimeter released: ${problems.join('; ')}`,
      'error',
    );
  return show(await openDealResult(sealed, resultKey), label);
}

/**
 * A period's answers, each checked and opened in the page.
 * @param {Client} client @param {HeldKey} resultKey @param {any} status @param {number} period
 * @param {ShowResult} show
 */
export async function openPeriod(client, resultKey, status, period, show) {
  const id = status.subscriptionId;
  const { termsHash, problem } = await keptTermsCheck(client.partyId, id, status.scope, 'subscription');
  if (problem) return [message(`Refusing the answers of subscription ${id}: ${problem}`, 'error')];
  const token = await accessToken(client, resultKey, id);
  const delivery = await client.request('GET', `${path(id)}/deliveries/${period}`, undefined, {
    [ACCESS_TOKEN_HEADER]: token,
  });
  const operatorKey = client.operatorKey || (await client.get('/operator/key')).publicKey;
  const expected = { sellerId: status.sellerId, termsHash, operatorKey };
  return Promise.all(
    (delivery.results ?? []).map((/** @type {DeliveredResult} */ r) =>
      openDelivered(client, resultKey, r, expected, show),
    ),
  );
}

/**
 * A subscription's status and its deliveries, each period with a button to open its answers.
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {any} status @param {ShowResult} show
 */
function statusView(client, resultKey, status, show) {
  const answers = el('div', { id: 'period-answers', 'aria-live': 'polite' });
  const periods = (status.deliveries ?? []).map((/** @type {any} */ d) => {
    const open = el('button', { type: 'button' }, [`Open period ${d.period}`]);
    open.addEventListener('click', () => {
      if (!resultKey)
        return replace(answers, message('Load your result (X25519) key to open answers.', 'error'));
      openPeriod(client, resultKey, status, d.period, show).then(
        (shown) => replace(answers, el('h4', {}, [`Period ${d.period}`]), ...shown),
        (error) => replace(answers, message(explain(error), 'error')),
      );
    });
    const answered = d.results.filter((/** @type {DeliveredResult} */ r) => !r.problem).length;
    return el('tr', { 'data-period': String(d.period) }, [
      el('td', {}, [String(d.period)]),
      el('td', {}, [`${answered} of ${d.results.length} answered`]),
      el('td', {}, [open]),
    ]);
  });
  const head = el(
    'tr',
    {},
    ['Period', 'Answers', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  return el('section', { id: 'subscription', 'aria-label': `subscription ${status.subscriptionId}` }, [
    el('h3', {}, [`Subscription ${status.subscriptionId}: ${status.stage}`]),
    table(
      ['', 'Value'],
      [
        ['Seller', status.sellerId ?? ''],
        ['Price per period', status.pricePerPeriod ?? ''],
        ['Current period', status.currentPeriod],
        ['Periods charged', status.periodsCharged],
        ['Period ends', at(status.periodEndsAt)],
        ['Next renewal', at(status.nextRenewalAt)],
      ],
    ),
    el('table', { id: 'deliveries' }, [el('thead', {}, [head]), el('tbody', {}, periods)]),
    answers,
  ]);
}

/**
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {HTMLElement} root
 * @param {ShowResult} show renders an opened answer (a table and a chart)
 */
export async function showBuyerSubscriptions(client, resultKey, root, show) {
  const detail = el('div', { 'aria-live': 'polite' });
  const listed = await client.get('/deals?kind=subscription');
  const rows = (listed.deals ?? []).map(
    (/** @type {{ id: string, stage: string, startedAt: string }} */ s) => {
      const button = el('button', { type: 'button' }, ['Status']);
      button.addEventListener('click', () => {
        client.get(path(s.id)).then(
          (status) => replace(detail, statusView(client, resultKey, status, show)),
          (error) => replace(detail, message(explain(error), 'error')),
        );
      });
      return el('tr', { 'data-subscription': s.id }, [
        el('td', {}, [s.id]),
        el('td', {}, [s.stage]),
        el('td', {}, [s.startedAt]),
        el('td', {}, [button]),
      ]);
    },
  );
  const head = el(
    'tr',
    {},
    ['Subscription', 'Stage', 'Started', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  replace(
    root,
    el('h2', {}, ['Your subscriptions']),
    el('table', { id: 'my-subscriptions' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    detail,
  );
}
