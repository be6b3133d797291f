import { parametersSchema, type ParameterValues } from '../../query-policies/template';
import { ApiError } from '../errors';
import type { CatalogEntry, TemplateCatalog } from './catalog';
import { issuesOnOneLine } from '../../lib/zod-issues';

export interface TemplateOrder {
  templateId: string;
  /** Whose copy; required when several sellers offer the template id. */
  sellerId?: string | undefined;
  templateHash: string;
  parameters: ParameterValues;
}

const sellersOf = (offers: CatalogEntry[]) => offers.map((offer) => offer.template.seller).join(', ');

/** The one offer the order means: the named seller's, or the only one. */
function chooseOffer(order: TemplateOrder, offers: CatalogEntry[]): CatalogEntry {
  if (offers.length === 0)
    throw new ApiError('unknown_template', `no signed template ${order.templateId} is for sale`);
  if (order.sellerId === undefined) {
    if (offers.length === 1) return offers[0]!;
    throw new ApiError(
      'seller_required',
      `sellers ${sellersOf(offers)} each offer ${order.templateId}: name one as sellerId`,
    );
  }
  const offer = offers.find((entry) => entry.template.seller === order.sellerId);
  if (!offer)
    throw new ApiError(
      'unknown_template',
      `seller ${order.sellerId} offers no signed ${order.templateId} (offered by ${sellersOf(offers)})`,
    );
  return offer;
}

/**
 * The API's pre-check of one template order (the perimeter checks again on its own): the chosen
 * seller offers the template, it still hashes to what the caller reviewed, and the parameters are
 * of their types, in bounds, and meet the template's constraints.
 */
export async function checkTemplateOrder(
  catalog: TemplateCatalog,
  order: TemplateOrder,
): Promise<{ entry: CatalogEntry; parameters: ParameterValues }> {
  const offers = await catalog.offers(order.templateId);
  const entry = chooseOffer(order, offers);
  if (entry.hash !== order.templateHash) {
    const owner = offers.find((offer) => offer.hash === order.templateHash);
    if (owner)
      throw new ApiError(
        'template_of_other_seller',
        `${order.templateHash} is seller ${owner.template.seller}'s ${order.templateId}, not seller ${entry.template.seller}'s: name sellerId ${owner.template.seller}`,
      );
    throw new ApiError(
      'template_hash_mismatch',
      `seller ${entry.template.seller}'s ${order.templateId} is now ${entry.hash}; review it again`,
    );
  }
  const parameters = parametersSchema(entry.template).safeParse(order.parameters);
  if (!parameters.success) {
    throw new ApiError('invalid_parameters', issuesOnOneLine(parameters.error, 'parameters'));
  }
  return { entry, parameters: parameters.data };
}
