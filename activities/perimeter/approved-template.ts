import { lintTemplate, type LintedTemplate } from '../../query-policies/sql-lint';
import { checkTemplateSignature } from '../../query-policies/signature';
import { parametersSchema, type ParameterValues, type QueryTemplate } from '../../query-policies/template';
import { readSignedTemplate, TemplateFileError } from '../../query-policies/template-files';
import { refuse } from './refusal';
import type { SandboxPool } from './sandbox-pool';
import { issuesOnOneLine } from '../../lib/zod-issues';

export interface TemplateGuardDeps {
  sellerId: string;
  /** The seller's own Ed25519 public key: the only signer the perimeter trusts. */
  sellerPublicKey: string;
  policiesDir: string;
  sandboxes: SandboxPool;
}

export interface ApprovedQuery {
  template: QueryTemplate;
  parameters: ParameterValues;
}

/**
 * Everything a template must pass before the perimeter touches data: it exists in this seller's
 * directory, carries this seller's signature, still hashes to what the deal pinned, its SQL passes
 * lint against the dataset, and the deal's parameters are declared and in bounds.
 */
export function createTemplateGuard(deps: TemplateGuardDeps) {
  const linted = new Map<string, Promise<LintedTemplate>>();

  async function load(templateId: string, templateHash: string): Promise<QueryTemplate> {
    let files;
    try {
      files = await readSignedTemplate(deps.policiesDir, templateId);
    } catch (error) {
      if (error instanceof TemplateFileError)
        refuse('TemplateNotFound', `template ${templateId}: ${error.message}`);
      throw error;
    }
    if (files.template.seller !== deps.sellerId) {
      refuse('TemplateSignatureInvalid', `template ${templateId} belongs to seller ${files.template.seller}`);
    }
    const check = checkTemplateSignature(files.template, files.signature, deps.sellerPublicKey);
    if (!check.ok)
      refuse('TemplateSignatureInvalid', `template ${templateId} is not approved: ${check.reason}`);
    if (check.hash !== templateHash) {
      refuse(
        'TemplateHashMismatch',
        `the deal pins ${templateHash} but the seller's signed template ${templateId} is ${check.hash}`,
      );
    }
    return files.template;
  }

  function lintProblems(template: QueryTemplate, hash: string): Promise<LintedTemplate> {
    let problems = linted.get(hash);
    if (!problems) {
      problems = deps.sandboxes.withConnection(template.dataset, async (connection) => {
        const columns = (
          await connection.runAndReadAll(`SELECT * FROM "${template.dataset}" LIMIT 0`)
        ).columnNames();
        return lintTemplate(connection, template, new Set(columns));
      });
      linted.set(hash, problems);
      problems.catch(() => linted.delete(hash));
    }
    return problems;
  }

  return async function approve(input: {
    templateId: string;
    templateHash: string;
    parameters: ParameterValues;
  }): Promise<ApprovedQuery> {
    const template = await load(input.templateId, input.templateHash);
    if (!deps.sandboxes.has(template.dataset)) {
      refuse('DatasetUnavailable', `this perimeter serves no dataset named ${template.dataset}`);
    }
    const { issues, totalSql } = await lintProblems(template, input.templateHash).catch(() =>
      refuse('DatasetUnavailable', `dataset ${template.dataset} cannot be opened`),
    );
    if (issues.length > 0 || totalSql === undefined)
      refuse(
        'TemplateSqlRejected',
        `template ${template.id} fails lint: ${issues.map((issue) => issue.message).join('; ')}`,
      );
    const parameters = parametersSchema(template).safeParse(input.parameters);
    if (!parameters.success) {
      refuse('InvalidParameters', `parameters rejected: ${issuesOnOneLine(parameters.error, 'parameters')}`);
    }
    // What runs is the total form of the signed SQL (every row expression under TRY): the same
    // rows, except that a value that would raise is NULL instead (query-policies/sql-total.ts).
    return { template: { ...template, sql: totalSql }, parameters: parameters.data };
  };
}
