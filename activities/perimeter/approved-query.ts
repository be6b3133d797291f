import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { DuckDBInstance } from '@duckdb/node-api';
import { checkTemplateSignature } from '../../query-policies/signature';
import { parametersSchema, type ParameterValues, type QueryTemplate } from '../../query-policies/template';
import { readSignedTemplate, TemplateFileError } from '../../query-policies/template-files';
import { QueryTimeoutError, runWithTimeout } from './query-runner';
import { openSandbox, type SandboxLimits } from './sandbox';
import type { PerimeterRefusal } from './types';

/** What the perimeter needs to run a signed template; the perimeter worker's deps satisfy it. */
export interface ApprovedQueryDeps {
  sellerId: string;
  /** The seller's own Ed25519 public key: the only signer the perimeter trusts. */
  sellerPublicKey: string;
  policiesDir: string;
  /** Dataset name → DuckDB file. */
  datasets: Record<string, string>;
  limits: SandboxLimits;
  queryTimeoutMs: number;
}

export function refuse(type: PerimeterRefusal, message: string): never {
  throw ApplicationFailure.nonRetryable(message, type);
}

/** DuckDB's messages can quote values from the data: only their class leaves the perimeter. */
function errorClass(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return /^([A-Za-z ]+ Error):/.exec(message)?.[1] ?? 'Error';
}

// One runner per deps object: every activity factory of a perimeter worker shares its sandboxes.
const runners = new WeakMap<ApprovedQueryDeps, ApprovedQueryRunner>();

/**
 * The one way into the seller's data, shared by every perimeter activity: a template this seller
 * signed, still hashing to what the caller pinned, with parameters in bounds, run in the sandbox.
 */
export class ApprovedQueryRunner {
  private readonly sandboxes = new Map<string, Promise<DuckDBInstance>>();

  private constructor(private readonly deps: ApprovedQueryDeps) {}

  static for(deps: ApprovedQueryDeps): ApprovedQueryRunner {
    let runner = runners.get(deps);
    if (!runner) {
      runner = new ApprovedQueryRunner(deps);
      runners.set(deps, runner);
    }
    return runner;
  }

  async loadTemplate(templateId: string, pinnedHash: string): Promise<QueryTemplate> {
    let files;
    try {
      files = await readSignedTemplate(this.deps.policiesDir, templateId);
    } catch (error) {
      if (error instanceof TemplateFileError)
        refuse('TemplateNotFound', `template ${templateId}: ${error.message}`);
      throw error;
    }
    if (files.template.seller !== this.deps.sellerId) {
      refuse('TemplateSignatureInvalid', `template ${templateId} belongs to seller ${files.template.seller}`);
    }
    const check = checkTemplateSignature(files.template, files.signature, this.deps.sellerPublicKey);
    if (!check.ok)
      refuse('TemplateSignatureInvalid', `template ${templateId} is not approved: ${check.reason}`);
    if (check.hash !== pinnedHash) {
      refuse(
        'TemplateHashMismatch',
        `the deal pins ${pinnedHash} but the seller's signed template ${templateId} is ${check.hash}`,
      );
    }
    return files.template;
  }

  checkParameters(template: QueryTemplate, values: ParameterValues): ParameterValues {
    const parameters = parametersSchema(template).safeParse(values);
    if (!parameters.success) {
      const issues = parameters.error.issues.map(
        (issue) => `${issue.path.join('.') || 'parameters'}: ${issue.message}`,
      );
      refuse('InvalidParameters', `parameters rejected: ${issues.join('; ')}`);
    }
    return parameters.data;
  }

  /** Runs `sql` (built by the perimeter around the template's SELECT) in the dataset's sandbox. */
  async run(
    template: QueryTemplate,
    sql: string,
    parameters: ParameterValues,
  ): Promise<Record<string, unknown>[]> {
    const instance = await this.sandboxFor(template.dataset);
    const connection = await instance.connect();
    try {
      const statements = await connection.extractStatements(template.sql).catch(() => null);
      if (statements?.count !== 1)
        refuse('TemplateSqlRejected', 'the template must hold exactly one statement');
      const context = Context.current();
      return await runWithTimeout(connection, sql, parameters, {
        timeoutMs: this.deps.queryTimeoutMs,
        onTick: () => context.heartbeat(),
        signal: context.cancellationSignal,
      });
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      if (error instanceof QueryTimeoutError) refuse('QueryTimeout', error.message);
      log.warn('approved query failed', { errorClass: errorClass(error) });
      refuse('QueryFailed', `the query failed inside the perimeter (${errorClass(error)})`);
    } finally {
      connection.closeSync();
    }
  }

  private sandboxFor(dataset: string): Promise<DuckDBInstance> {
    const path = this.deps.datasets[dataset];
    if (path === undefined) refuse('DatasetUnavailable', `this perimeter serves no dataset named ${dataset}`);
    let sandbox = this.sandboxes.get(path);
    if (!sandbox) {
      sandbox = openSandbox(path, this.deps.limits);
      this.sandboxes.set(path, sandbox);
      sandbox.catch(() => this.sandboxes.delete(path));
    }
    return sandbox;
  }
}
