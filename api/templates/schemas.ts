import { z } from 'zod';
import { templateSignature } from '../../query-policies/signature';
import { queryTemplate } from '../../query-policies/template';

/** A template and its seller's signature, as `tusk template sign` writes them. */
export const publishTemplateBody = z.strictObject({ template: queryTemplate, signature: templateSignature });

export const publishedTemplate = z.object({
  id: z.string(),
  version: z.number(),
  seller: z.string(),
  hash: z.string(),
});
