import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { queryTemplate, type QueryTemplate } from './template';
import { templateSignature, type TemplateSignature } from './signature';

/** A template file that is missing, not JSON, or not a valid template; the message says which and where. */
export class TemplateFileError extends Error {
  override name = 'TemplateFileError';
}

const TEMPLATE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SIGNATURE_SUFFIX = '.signature.json';

export function templatePath(directory: string, templateId: string): string {
  if (!TEMPLATE_ID.test(templateId))
    throw new TemplateFileError(`not a template id: ${JSON.stringify(templateId)}`);
  return join(directory, `${templateId}.json`);
}

export function signaturePath(directory: string, templateId: string): string {
  return templatePath(directory, templateId).replace(/\.json$/, SIGNATURE_SUFFIX);
}

async function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new TemplateFileError(`${what} ${path} does not exist or cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TemplateFileError(`${what} ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const hints = retiredKeyHints(parsed.error)
      .map((hint) => `\n  → ${hint}`)
      .join('');
    throw new TemplateFileError(`${what} ${path} is not valid:\n${z.prettifyError(parsed.error)}${hints}`);
  }
  return parsed.data;
}

/** Keys earlier template versions had, and where what they said lives now. */
const RETIRED_KEYS: Record<string, string> = {
  budget:
    'budgets are no longer in templates: they belong to the dataset, signed by the seller with `tusk seller policy --dataset <name>`; delete `budget` here',
  suppression:
    '`suppression` is gone: small groups are never released exactly; declare `groupDomain` for a fixed set of groups, or leave it out for private partition selection, and set `minCohortSize`; delete `suppression` here',
};

function retiredKeyHints(error: z.ZodError): string[] {
  const keys = error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys : []));
  return [...new Set(keys)].flatMap((key) => (RETIRED_KEYS[key] ? [RETIRED_KEYS[key]] : []));
}

export function readTemplateFile(path: string): Promise<QueryTemplate> {
  return readJsonFile(path, queryTemplate, 'template');
}

export function readSignatureFile(path: string): Promise<TemplateSignature> {
  return readJsonFile(path, templateSignature, 'signature');
}

export interface SignedTemplateFiles {
  template: QueryTemplate;
  signature: TemplateSignature;
}

export async function readSignedTemplate(
  directory: string,
  templateId: string,
): Promise<SignedTemplateFiles> {
  const template = await readTemplateFile(templatePath(directory, templateId));
  if (template.id !== templateId) {
    throw new TemplateFileError(`template file ${templateId}.json declares id ${template.id}`);
  }
  const signature = await readSignatureFile(signaturePath(directory, templateId));
  return { template, signature };
}

/** Ids of the templates in a seller's directory that carry a signature file. */
export async function listSignedTemplateIds(directory: string): Promise<string[]> {
  const names = await readdir(directory).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith(SIGNATURE_SUFFIX))
    .map((name) => name.slice(0, -SIGNATURE_SUFFIX.length))
    .filter((id) => TEMPLATE_ID.test(id) && names.includes(`${id}.json`))
    .sort();
}
