// @ts-check
import { explain } from './api.js';
import { barChart, el, message, replace, table } from './dom.js';
import { showBuyerDeals } from './buyer-deals.js';
import { showBuyerSubscriptions } from './buyer-subscriptions.js';
import { RESTING_DEAL_STAGES } from './deal-stages.js';
import { releaseProblems } from './release-check.js';
import { keptTermsCheck, ownScope } from './deal-terms.js';
import { keepTerms } from './key-store.js';
import { subscriptionFields, subscriptionRequest } from './subscribe.js';
import { base64url, openDealResult, signDecision, signTerms, termsHashOf } from './tusk-crypto.js';

/** Stages after which a deal no longer moves on its own. */
const RESTING = new Set(RESTING_DEAL_STAGES);
const POLL_MS = 1000;

/**
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {{ id: string, seller: string, hash: string, price: string, title: string, dataset: string,
 *   dimensions: string[],
 *   parameters: Record<string, { type: string, min?: number, max?: number, values?: string[], description?: string }>,
 *   privacy: { mechanism: string, epsilon: number, delta: number },
 *   compliance?: { jurisdictions: string[], purposes: string[], dataClasses: string[] } }} Template
 * @typedef {{ templates: Template[], feeBps?: number, acceptanceWindowSeconds?: number }} Listing
 */

/** A labelled input for one template parameter. @param {string} name @param {Template['parameters'][string]} spec */
function parameterField(name, spec) {
  const id = `param-${name}`;
  const input =
    spec.type === 'enum'
      ? el(
          'select',
          { id, name },
          (spec.values ?? []).map((v) => el('option', { value: v }, [v])),
        )
      : el('input', {
          id,
          name,
          type: spec.type === 'integer' ? 'number' : 'text',
          ...(spec.min === undefined ? {} : { min: String(spec.min), value: String(spec.min) }),
          ...(spec.max === undefined ? {} : { max: String(spec.max) }),
          required: '',
        });
  return el('div', { class: 'field' }, [
    el('label', { for: id }, [`${name}${spec.description ? ` (${spec.description})` : ''}`]),
    input,
  ]);
}

/**
 * The budget gauge: spent and left of this buyer's ε on a dataset, and the window.
 * @param {Client} client @param {Template} template
 */
async function budgetGauge(client, template) {
  const view = await client.get(
    `/budgets/${encodeURIComponent(template.seller)}/${encodeURIComponent(template.dataset)}`,
  );
  const mine = view.buyer ?? view.total;
  const window = view.windowDays === undefined ? 'lifetime budget' : `per ${view.windowDays} days`;
  return el('div', { class: 'gauge' }, [
    el('label', { for: 'budget-meter' }, [
      `ε spent ${mine.spent.epsilon} of ${mine.budget.epsilon}, ${mine.left.epsilon} left (${window})`,
    ]),
    el('meter', {
      id: 'budget-meter',
      min: '0',
      max: String(mine.budget.epsilon),
      value: String(mine.spent.epsilon),
    }),
  ]);
}

/**
 * The answer as a table (the groups whose metrics were released) and a bar chart of its first metric,
 * each bar with ± one standard deviation of the noise.
 * @param {{ columns: string[], rows: (string | number | null)[][], templateId: string, privacy: any }} payload
 * @param {number} dimensions how many leading columns name the group
 * @param {Record<string, string>} [attributes] the section's (the deal panel's one result is #result)
 */
function resultView(payload, dimensions, attributes = { id: 'result' }) {
  const shown = payload.rows.filter((row) => row.slice(dimensions).some((cell) => cell !== null));
  const metric = payload.columns[dimensions] ?? '';
  const scale = payload.privacy.noiseScales[metric] ?? payload.privacy.noiseScales.units ?? 0;
  // Discrete Laplace of scale b has a standard deviation near b·√2; Gaussian's scale is its σ.
  const sd = payload.privacy.mechanism === 'discrete_laplace' ? scale * Math.SQRT2 : scale;
  const bars = shown
    .filter((row) => typeof row[dimensions] === 'number')
    .sort((a, b) => Number(b[dimensions]) - Number(a[dimensions]))
    .slice(0, 15)
    .map((row) => ({
      label: row.slice(0, dimensions).join(' / '),
      value: Number(row[dimensions]),
      error: sd,
    }));
  return el('section', { 'aria-label': 'result', ...attributes }, [
    el('h3', {}, [`Result of ${payload.templateId}`]),
    el('p', {}, [
      `${payload.privacy.mechanism}, ε ${payload.privacy.epsilonSpent}, noise scale ${scale}; ` +
        `${shown.length} of ${payload.rows.length} groups reached k = ${payload.privacy.minCohortSize}.`,
    ]),
    barChart(bars, `${metric} by group (largest ${bars.length}), bars ±1 standard deviation of the noise`),
    table(payload.columns, shown),
  ]);
}

/**
 * The operator's log key: the one pinned in the page, else (as the CLI without a pin) what the API says.
 * @param {Client} client @param {string} pinned
 */
async function operatorKeyOf(client, pinned) {
  return pinned || (await client.get('/operator/key')).publicKey;
}

/**
 * One deal: its stages as they come, then (only if the seller's perimeter signed its release) the
 * sealed answer opened here, then confirm.
 * @param {Client} client @param {HeldKey} resultKey @param {string} dealId @param {HTMLElement} panel
 * @param {Template} template
 */
async function followDeal(client, resultKey, dealId, panel, template) {
  const dimensions = template.dimensions.length;
  const timeline = el('ol', { class: 'timeline', 'aria-live': 'polite' });
  const status = el('div');
  replace(panel, el('h3', {}, [`Deal ${dealId}`]), timeline, status);
  let deal;
  for (;;) {
    deal = await client.get(`/deals/${encodeURIComponent(dealId)}`);
    replace(
      timeline,
      ...(deal.timeline ?? []).map((/** @type {{ stage: string, at: number }} */ t) =>
        el('li', {}, [`${t.stage} at ${new Date(t.at).toLocaleTimeString()}`]),
      ),
    );
    if (deal.problem)
      return replace(status, message(`${deal.problem.code}: ${deal.problem.reason ?? ''}`, 'error'));
    if (RESTING.has(deal.stage)) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (!deal.result) return replace(status, message(`The deal ended ${deal.stage}.`, 'error'));
  const { termsHash, problem } = await keptTermsCheck(client.partyId, dealId, deal.scope);
  if (problem) return replace(status, message(`Refusing the answer of ${dealId}: ${problem}`, 'error'));
  const sealed = await client.get(`/deals/${encodeURIComponent(dealId)}/result`);
  if (sealed.commitment !== deal.result.commitment)
    return replace(status, message('The result served is not the one the deal recorded.', 'error'));
  const problems = await releaseProblems(
    client,
    sealed,
    template.seller,
    await operatorKeyOf(client, client.operatorKey),
    { termsHash },
  );
  if (problems.length > 0)
    return replace(
      status,
      message(
        `Refusing the answer of ${dealId}: it is not what seller ${template.seller}'s perimeter released: ${problems.join('; ')}`,
        'error',
      ),
    );
  const payload = await openDealResult(sealed, resultKey);
  const confirm = el('button', { type: 'button' }, ['Confirm the deal (the seller is paid now)']);
  confirm.addEventListener('click', () => {
    confirmDeal(client, dealId).then(
      (confirmed) => replace(status, message(`Deal ${dealId} ${confirmed.stage}.`)),
      (error) => status.append(message(explain(error), 'error')),
    );
  });
  replace(status, resultView(payload, dimensions), deal.stage === 'delivered' ? confirm : '');
}

/**
 * The buyer's signed confirmation, over the scope its deal's status shows.
 * @param {Client} client @param {string} dealId
 */
async function confirmDeal(client, dealId) {
  const path = `/deals/${encodeURIComponent(dealId)}`;
  const scope = await ownScope(client.partyId, dealId, (await client.get(path)).scope);
  const proof = await signDecision(
    client.signingKey.privateKey,
    scope,
    'deal_confirmation',
    client.partyId,
    {},
  );
  return client.post(`${path}/confirm`, proof);
}

/**
 * The signed create request of a deal, with the money fields the CLI fills in (lib/signed-terms.ts).
 * @param {Client} client @param {HeldKey} resultKey @param {Template} template
 * @param {Record<string, string | number>} parameters @param {Listing} listing
 * @param {{ jurisdiction: string, purpose: string, acceptedDataClasses: string[] }} compliance
 */
async function dealRequest(client, resultKey, template, parameters, listing, compliance) {
  const body = {
    nonce: base64url(crypto.getRandomValues(new Uint8Array(16))),
    feeBps: listing.feeBps,
    notAfter: new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString(),
    acceptanceWindowSeconds: listing.acceptanceWindowSeconds,
    dealId: crypto.randomUUID(),
    templateId: template.id,
    templateHash: template.hash,
    sellerId: template.seller,
    parameters,
    price: template.price,
    buyerPublicKey: resultKey.publicKey,
    compliance,
  };
  const signed = {
    ...body,
    termsSignature: await signTerms('cohort_query', client.partyId, client.signingKey, body),
  };
  // Kept before it is sent: an answer is accepted only for terms kept here (deal-terms.js).
  const termsHash = await termsHashOf('cohort_query', client.partyId, client.signingKey.publicKey, signed);
  await keepTerms(client.partyId, 'cohort_query', body.dealId, { request: signed, termsHash });
  return signed;
}

/** A labelled choice among a template's allowed values. @param {string} id @param {string} label @param {string[]} values */
const choice = (id, label, values) =>
  el('div', { class: 'field' }, [
    el('label', { for: id }, [label]),
    el(
      'select',
      { id },
      values.map((v) => el('option', { value: v }, [v])),
    ),
  ]);

/** One checkbox per data class the answer derives from: the buyer accepts each one explicitly. @param {string[]} classes */
const dataClassBoxes = (classes) =>
  el('fieldset', {}, [
    el('legend', {}, ['Data classes the answer derives from (you must accept each)']),
    ...classes.map((dataClass, i) =>
      el('div', {}, [
        el('input', { type: 'checkbox', id: `class-${i}`, value: dataClass, name: 'data-class' }),
        el('label', { for: `class-${i}` }, [dataClass]),
      ]),
    ),
  ]);

/**
 * The purchase form of one template: buy one answer, or subscribe to one every period.
 * @param {Client} client @param {HeldKey} resultKey @param {Template} template @param {Listing} listing
 * @param {HTMLElement} panel @param {(subscriptionId: string) => Promise<void>} subscribed shows the new subscription
 */
function dealForm(client, resultKey, template, listing, panel, subscribed) {
  const fields = Object.entries(template.parameters ?? {}).map(([name, spec]) => parameterField(name, spec));
  const compliance = template.compliance ?? { jurisdictions: [], purposes: [], dataClasses: [] };
  const subscription = subscriptionFields(template);
  const form = /** @type {HTMLFormElement} */ (
    el('form', { 'aria-label': `buy ${template.id}` }, [
      ...fields,
      choice('jurisdiction', 'Your jurisdiction', compliance.jurisdictions),
      choice('purpose', 'Your purpose', compliance.purposes),
      dataClassBoxes(compliance.dataClasses),
      el('button', { type: 'submit' }, [`Buy for ${template.price}`]),
      subscription.fields,
    ])
  );
  const value = (/** @type {string} */ selector) =>
    /** @type {HTMLInputElement} */ (form.querySelector(selector)).value;
  /** What the buyer entered: the parameters and its compliance terms. */
  const entered = () => {
    const parameters = Object.fromEntries(
      Object.entries(template.parameters ?? {}).map(([name, spec]) => {
        const text = value(`[name="${CSS.escape(name)}"]`);
        return [name, spec.type === 'integer' ? Number(text) : text];
      }),
    );
    const accepted = Array.from(
      form.querySelectorAll('input[name=data-class]:checked'),
      (box) => /** @type {HTMLInputElement} */ (box).value,
    );
    const terms = {
      jurisdiction: value('#jurisdiction'),
      purpose: value('#purpose'),
      acceptedDataClasses: accepted,
    };
    return { parameters, terms };
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const { parameters, terms } = entered();
    dealRequest(client, resultKey, template, parameters, listing, terms)
      .then((signed) =>
        client
          .post('/deals', signed)
          .then(() => followDeal(client, resultKey, signed.dealId, panel, template)),
      )
      .catch((error) => panel.append(message(explain(error), 'error')));
  });
  /** Signs the subscription's terms here, keeps them, and sends them; a bad period is refused first. */
  const subscribe = async () => {
    const schedule = subscription.schedule();
    if (!form.reportValidity()) return;
    const { parameters, terms } = entered();
    const signed = await subscriptionRequest(
      client,
      resultKey,
      template,
      parameters,
      listing,
      terms,
      schedule,
    );
    const status = await client.post('/subscriptions', signed);
    panel.append(message(`Subscription ${status.subscriptionId}: ${status.stage}.`));
    await subscribed(status.subscriptionId);
  };
  subscription.button.addEventListener('click', () => {
    subscribe().catch((error) => panel.append(message(explain(error), 'error')));
  });
  return form;
}

/**
 * The buyer's view: the catalog; choosing a template shows its budget gauge and purchase form.
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {HTMLElement} root
 */
export async function showBuyer(client, resultKey, root) {
  const listing = await client.get('/templates');
  const detail = el('section', { id: 'deal-panel', 'aria-live': 'polite' });
  const subscriptions = el('section', { id: 'buyer-subscriptions' });
  /** @type {import('./buyer-subscriptions.js').ShowResult} */
  const showDelivered = (payload, label) => {
    const template = listing.templates.find((/** @type {Template} */ t) => t.hash === payload.templateHash);
    const dimensions = template?.dimensions.length ?? 1;
    return el('div', {}, [
      el('h4', {}, [label]),
      resultView(payload, dimensions, { class: 'delivery-result' }),
    ]);
  };
  /** The subscriptions again, with the one just made among them. @param {string} _subscriptionId */
  const showSubscription = (_subscriptionId) =>
    showBuyerSubscriptions(client, resultKey, subscriptions, showDelivered);
  const rows = listing.templates.map((/** @type {Template} */ t) => {
    const choose = el('button', { type: 'button' }, ['Choose']);
    choose.addEventListener('click', () => {
      if (!resultKey)
        return replace(
          detail,
          message('Load your result (X25519) key to buy: results open only with it.', 'error'),
        );
      budgetGauge(client, t).then(
        (gauge) =>
          replace(
            detail,
            el('h3', {}, [t.title]),
            gauge,
            dealForm(client, resultKey, t, listing, detail, showSubscription),
          ),
        (error) => replace(detail, message(explain(error), 'error')),
      );
    });
    const params = Object.entries(t.parameters ?? {})
      .map(([n, s]) => `${n}: ${s.type}${s.values ? ` (${s.values.join('|')})` : ''}`)
      .join(', ');
    return el('tr', {}, [
      el('td', {}, [t.title]),
      el('td', {}, [t.id]),
      el('td', {}, [t.seller]),
      el('td', {}, [params]),
      el('td', {}, [t.price]),
      el('td', {}, [`${t.privacy.epsilon} (${t.privacy.mechanism})`]),
      el('td', {}, [choose]),
    ]);
  });
  const head = el(
    'tr',
    {},
    ['Title', 'Id', 'Seller', 'Parameters', 'Price', 'ε per answer', ''].map((h) =>
      el('th', { scope: 'col' }, [h]),
    ),
  );
  const deals = el('section', { id: 'buyer-deals' });
  replace(
    root,
    el('h2', {}, ['Catalog']),
    el('table', { id: 'catalog' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    detail,
    deals,
    subscriptions,
  );
  const open = (/** @type {string} */ dealId) => {
    openExisting(client, resultKey, listing.templates, dealId, detail).catch((error) =>
      replace(detail, message(explain(error), 'error')),
    );
  };
  /** A deal signed with the CLI opens once its terms are imported; a subscription shows among the others. */
  const imported = (/** @type {string} */ kind, /** @type {string} */ id) => {
    if (kind === 'cohort_query') open(id);
    else void showSubscription(id).catch((error) => replace(detail, message(explain(error), 'error')));
  };
  await showBuyerDeals(client, deals, open, imported);
  await showBuyerSubscriptions(client, resultKey, subscriptions, showDelivered);
}

/**
 * An earlier deal's answer, found by its status's template and seller, checked and opened as a new one.
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {Template[]} templates
 * @param {string} dealId @param {HTMLElement} panel
 */
async function openExisting(client, resultKey, templates, dealId, panel) {
  if (!resultKey) return replace(panel, message('Load your result (X25519) key to open results.', 'error'));
  // What the panel said about an earlier try (a refusal) goes at once: it is not about this one.
  replace(panel, message(`Opening deal ${dealId}…`));
  const deal = await client.get(`/deals/${encodeURIComponent(dealId)}`);
  const template = templates.find(
    (/** @type {Template} */ t) => t.id === deal.templateId && t.seller === deal.sellerId,
  );
  if (!template)
    throw new Error(`template ${deal.templateId} of seller ${deal.sellerId} is no longer in the catalog`);
  await followDeal(client, resultKey, dealId, panel, template);
}
