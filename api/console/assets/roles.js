// @ts-check
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';

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
    const rows = (listed.deals ?? []).map((d) => [d.id, d.kind, d.stage, d.startedAt, d.closedAt ?? '']);
    replace(deals, table(['Id', 'Kind', 'Stage', 'Started', 'Closed'], rows));
  } catch (error) {
    replace(deals, message(explain(error), 'error'));
  }
}

/** The operator's view: the API's health and Temporal's. @param {HTMLElement} root */
export async function showOperator(root) {
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
}
