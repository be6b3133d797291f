import { parametersSchema, type ParameterValues } from '../../query-policies/template';
import { ApiError } from '../errors';
import type { CatalogEntry, TemplateCatalog } from './catalog';

export interface TemplateOrder {
  templateId: string;
  templateHash: string;
  parameters: ParameterValues;
}

/**
 * The API's pre-check of one template order (the perimeter checks again on its own): the template
 * is for sale, still hashes to what the caller reviewed, and the parameters are in bounds.
 */
export async function checkTemplateOrder(
  catalog: TemplateCatalog,
  order: TemplateOrder,
): Promise<{ entry: CatalogEntry; parameters: ParameterValues }> {
  const entry = await catalog.find(order.templateId);
  if (!entry) throw new ApiError('unknown_template', `no signed template ${order.templateId} is for sale`);
  if (entry.hash !== order.templateHash) {
    throw new ApiError(
      'template_hash_mismatch',
      `template ${order.templateId} is now ${entry.hash}; review it again`,
    );
  }
  const parameters = parametersSchema(entry.template).safeParse(order.parameters);
  if (!parameters.success) {
    const issues = parameters.error.issues.map(
      (issue) => `${issue.path.join('.') || 'parameters'}: ${issue.message}`,
    );
    throw new ApiError('invalid_parameters', issues.join('; '));
  }
  return { entry, parameters: parameters.data };
}
