// @ts-check
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';
import { temporalLinks } from './temporal-links.js';

/**
 * The seller's view: its deals (GET /deals lists the caller's own) and the budget use of a dataset.
 * @param {import('./api.js').Client} client @param {HTMLElement} root
 */
export async function showSeller(client, root) {
  const deals = el('div');
  const dataset = /** @type {HTMLInputElement} */ (
    el('input', { id: 'dataset', value: 'patients', required: '' })
  );
  const budget = el('div', { 'aria-live': 'polite' });
  const form = el('form', { 'aria-label': 'budget use' }, [
    el('label', { for: 'dataset' }, ['Dataset']),
    dataset,
    el('button', { type: 'submit' }, ['Show budget use']),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    client
      .get(`/budgets/${encodeURIComponent(client.partyId)}/${encodeURIComponent(dataset.value)}`)
      .then((view) =>
        replace(
          budget,
          table(
            ['', 'ε spent', 'ε left', 'ε budget', 'δ spent', 'δ budget'],
            [
              [
                'all buyers',
                view.total.spent.epsilon,
                view.total.left.epsilon,
                view.total.budget.epsilon,
                view.total.spent.delta,
                view.total.budget.delta,
              ],
            ],
          ),
        ),
      )
      .catch((error) => replace(budget, message(explain(error), 'error')));
  });
  replace(root, el('h2', {}, ['Deals']), deals, el('h2', {}, ['Budget use']), form, budget);
  try {
    const listed = await client.get('/deals');
    const rows = (listed.deals ?? []).map((/** @type {any} */ d) => [
      d.id,
      d.kind,
      d.stage,
      d.startedAt,
      d.closedAt ?? '',
    ]);
    replace(deals, table(['Id', 'Kind', 'Stage', 'Started', 'Closed'], rows));
  } catch (error) {
    replace(deals, message(explain(error), 'error'));
  }
}

/** Where each listed kind's status is, and the kind `POST /settlement/retry` names it by. */
const ATTENTION_KINDS = {
  deal: { path: '/deals/', retry: 'deal' },
  multi_seller: { path: '/multi-seller-deals/', retry: 'multi-seller-deal' },
  subscription: { path: '/subscriptions/', retry: 'subscription' },
  grant: { path: '/grants/', retry: 'grant' },
};

/**
 * The needs-attention queue: every lifecycle whose money steps failed and wait for the operator
 * (GET /deals lists all to the operator), each failed step with its reason, and a retry
 * (`tusk operator retry`).
 * @param {import('./api.js').Client} client
 */
async function attentionQueue(client) {
  const status = el('div', { 'aria-live': 'polite' });
  const listed = await client.get('/deals?limit=100');
  const waiting = (listed.deals ?? []).filter(
    (/** @type {{ stage: string, kind: string }} */ d) =>
      d.stage === 'needs_attention' && d.kind in ATTENTION_KINDS,
  );
  const rows = await Promise.all(
    waiting.map(async (/** @type {{ id: string, kind: keyof typeof ATTENTION_KINDS }} */ d) => {
      const kind = ATTENTION_KINDS[d.kind];
      const view = await client.get(`${kind.path}${encodeURIComponent(d.id)}`).catch(() => ({}));
      const steps = (view.attention ?? [])
        .map(
          (/** @type {any} */ a) =>
            `${a.step}: ${a.code}${a.reason ? ` (${a.reason})` : ''}, ${a.failures} failures`,
        )
        .join('; ');
      const retry = el('button', { type: 'button' }, ['Retry']);
      retry.addEventListener('click', () => {
        client.post('/settlement/retry', { kind: kind.retry, id: d.id }).then(
          (accepted) => replace(status, message(`${d.id}: retrying ${accepted.retrying.join(', ')}`)),
          (error) => replace(status, message(explain(error), 'error')),
        );
      });
      return el('tr', { 'data-attention': d.id }, [
        el('td', {}, [d.id]),
        el('td', {}, [d.kind]),
        el('td', {}, [steps]),
        el('td', {}, [retry]),
      ]);
    }),
  );
  const head = el(
    'tr',
    {},
    ['Lifecycle', 'Kind', 'Failed steps', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  return el('section', { id: 'attention' }, [
    el('h2', {}, ['Needs attention']),
    rows.length === 0
      ? message('Nothing needs attention.')
      : el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    status,
  ]);
}

/**
 * The operator's view: the API's health and Temporal's; signed in as an operator party, the
 * needs-attention queue and links to each lifecycle in the Temporal UI.
 * @param {HTMLElement} root @param {import('./api.js').Client} [client]
 */
export async function showOperator(root, client) {
  const response = await fetch('/health', { credentials: 'omit' });
  const health = await response.json().catch(() => ({}));
  replace(
    root,
    el('h2', {}, ['Health']),
    table(
      ['Part', 'State'],
      [
        ['API', String(health.status)],
        ['Temporal', String(health.temporal)],
      ],
    ),
  );
  if (client) {
    const queue = await attentionQueue(client).catch((error) => message(explain(error), 'error'));
    root.append(queue, await temporalLinks(client));
  }
}
