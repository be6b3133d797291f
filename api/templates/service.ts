import type { Party } from '../../lib/parties';
import { checkTemplateSignature } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { TemplateSignature } from '../../query-policies/signature';
import { ApiError } from '../errors';
import type { TemplateCatalog } from './catalog';

/**
 * A seller publishes its own signed templates: the request is signed by the seller, and the template
 * by the same registered key. Nothing unsigned or signed by anyone else reaches the catalog.
 */
export async function publishTemplate(
  catalog: TemplateCatalog,
  caller: Party,
  template: QueryTemplate,
  signature: TemplateSignature,
): Promise<{ id: string; version: number; seller: string; hash: string }> {
  if (caller.role !== 'seller')
    throw new ApiError('forbidden', `only a seller may publish templates; ${caller.id} is a ${caller.role}`);
  if (template.seller !== caller.id)
    throw new ApiError(
      'forbidden',
      `template ${template.id} belongs to seller ${template.seller}, not ${caller.id}`,
    );
  const check = checkTemplateSignature(template, signature, caller.publicKey);
  if (!check.ok) throw new ApiError('template_signature_invalid', check.reason);
  await catalog.publish(template, signature);
  return { id: template.id, version: template.version, seller: template.seller, hash: check.hash };
}
