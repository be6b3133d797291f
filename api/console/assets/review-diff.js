// @ts-check
/**
 * A proposed draft against the seller's nearest existing template, as `tusk seller review show`
 * compares them (query-policies/template-diff.ts): the catalog entry that differs in the fewest
 * top-level fields, and those fields, values as canonical JSON text.
 */
import { el, message, table } from './dom.js';
import { canonicalJson } from './tusk-crypto.js';

/** @param {Record<string, unknown>} draft @param {Record<string, unknown>} existing */
function fieldDifferences(draft, existing) {
  return Object.keys(draft)
    .filter((field) => field in existing && field !== 'id' && field !== 'version')
    .filter((field) => canonicalJson(draft[field] ?? null) !== canonicalJson(existing[field] ?? null))
    .map((field) => ({ field, draft: draft[field], existing: existing[field] }));
}

/**
 * The differences from the seller's nearest catalog template, as a section.
 * @param {import('./api.js').Client} client @param {Record<string, any>} draft @param {string} sellerId
 */
export async function nearestTemplateView(client, draft, sellerId) {
  const { templates } = await client.get('/templates');
  const own = templates.filter((/** @type {{ seller: string }} */ t) => t.seller === sellerId);
  // The catalog shows metrics by name and aggregate, and the privacy it computes: compare like with like.
  /** @type {Record<string, unknown>} */
  const comparable = {
    ...draft,
    metrics: draft.metrics.map((/** @type {any} */ m) => ({ name: m.name, aggregate: m.aggregate })),
  };
  delete comparable.privacy;
  let nearest;
  for (const template of own) {
    const differences = fieldDifferences(comparable, template);
    if (!nearest || differences.length < nearest.differences.length) nearest = { template, differences };
  }
  const heading = el('h4', {}, ['Against your nearest template']);
  if (!nearest)
    return el('section', { id: 'nearest' }, [heading, message('You sell no template yet to compare with.')]);
  const text = (/** @type {unknown} */ v) => (v === undefined ? '' : JSON.stringify(v));
  return el('section', { id: 'nearest' }, [
    heading,
    nearest.differences.length === 0
      ? message(`Same as ${nearest.template.id} in every field the catalog shows.`)
      : table(
          ['Field', 'This draft', `${nearest.template.id}`],
          nearest.differences.map((d) => [d.field, text(d.draft), text(d.existing)]),
        ),
  ]);
}
