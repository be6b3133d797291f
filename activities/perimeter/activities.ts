import { Context, ApplicationFailure, log } from '@temporalio/activity';
import type { DuckDBInstance } from '@duckdb/node-api';
import { BlobStore } from '../../lib/blob-store';
import { checkTemplateSignature } from '../../query-policies/signature';
import { parametersSchema, type QueryTemplate } from '../../query-policies/template';
import { readSignedTemplate, TemplateFileError } from '../../query-policies/template-files';
import { cohortAggregateSql } from './cohort-sql';
import { runWithTimeout, QueryTimeoutError } from './query-runner';
import { openSandbox, type SandboxLimits } from './sandbox';
import { buildResultPayload, buyerKeyDocument, resultCommitment, sealResult } from '../../lib/sealed-result';
import { suppressSmallGroups } from './suppression';
import type { PerimeterRefusal, RunApprovedQueryInput, RunApprovedQueryResult } from './types';

export interface PerimeterDeps {
  sellerId: string;
  /** The seller's own Ed25519 public key: the only signer the perimeter trusts. */
  sellerPublicKey: string;
  policiesDir: string;
  /** Dataset name → DuckDB file. */
  datasets: Record<string, string>;
  blobs: BlobStore;
  limits: SandboxLimits;
  queryTimeoutMs: number;
}

function refuse(type: PerimeterRefusal, message: string): never {
  throw ApplicationFailure.nonRetryable(message, type);
}

/** DuckDB's messages can quote values from the data: only their class leaves the perimeter. */
function errorClass(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return /^([A-Za-z ]+ Error):/.exec(message)?.[1] ?? 'Error';
}

export function createPerimeterActivities(deps: PerimeterDeps) {
  const sandboxes = new Map<string, Promise<DuckDBInstance>>();

  function sandboxFor(dataset: string): Promise<DuckDBInstance> {
    const path = deps.datasets[dataset];
    if (path === undefined) refuse('DatasetUnavailable', `this perimeter serves no dataset named ${dataset}`);
    let sandbox = sandboxes.get(path);
    if (!sandbox) {
      sandbox = openSandbox(path, deps.limits);
      sandboxes.set(path, sandbox);
      sandbox.catch(() => sandboxes.delete(path));
    }
    return sandbox;
  }

  async function approvedTemplate(input: RunApprovedQueryInput): Promise<QueryTemplate> {
    let files;
    try {
      files = await readSignedTemplate(deps.policiesDir, input.templateId);
    } catch (error) {
      if (error instanceof TemplateFileError)
        refuse('TemplateNotFound', `template ${input.templateId}: ${error.message}`);
      throw error;
    }
    if (files.template.seller !== deps.sellerId) {
      refuse(
        'TemplateSignatureInvalid',
        `template ${input.templateId} belongs to seller ${files.template.seller}`,
      );
    }
    const check = checkTemplateSignature(files.template, files.signature, deps.sellerPublicKey);
    if (!check.ok)
      refuse('TemplateSignatureInvalid', `template ${input.templateId} is not approved: ${check.reason}`);
    if (check.hash !== input.templateHash) {
      refuse(
        'TemplateHashMismatch',
        `the deal pins ${input.templateHash} but the seller's signed template ${input.templateId} is ${check.hash}`,
      );
    }
    return files.template;
  }

  async function buyerPublicKey(ref: string): Promise<string> {
    try {
      return buyerKeyDocument.parse(JSON.parse((await deps.blobs.get(ref)).toString('utf8'))).publicKey;
    } catch {
      refuse('InvalidBuyerKey', `no readable X25519 buyer key at ${ref}`);
    }
  }

  async function aggregate(template: QueryTemplate, parameters: Record<string, string | number>) {
    const instance = await sandboxFor(template.dataset);
    const connection = await instance.connect();
    try {
      const statements = await connection.extractStatements(template.sql).catch(() => null);
      if (statements?.count !== 1)
        refuse('TemplateSqlRejected', 'the template must hold exactly one statement');
      const context = Context.current();
      return await runWithTimeout(connection, cohortAggregateSql(template), parameters, {
        timeoutMs: deps.queryTimeoutMs,
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

  /**
   * The only way into the seller's data: a template this seller signed, pinned by hash, with
   * parameters in bounds; the perimeter aggregates, suppresses small groups and seals the table to
   * the buyer's key. Only a blob reference, a commitment and counts come out.
   */
  async function runApprovedQuery(input: RunApprovedQueryInput): Promise<RunApprovedQueryResult> {
    const template = await approvedTemplate(input);
    const parameters = parametersSchema(template).safeParse(input.parameters);
    if (!parameters.success) {
      const issues = parameters.error.issues.map(
        (issue) => `${issue.path.join('.') || 'parameters'}: ${issue.message}`,
      );
      refuse('InvalidParameters', `parameters rejected: ${issues.join('; ')}`);
    }
    const buyerKey = await buyerPublicKey(input.buyerKeyRef);
    const groups = await aggregate(template, parameters.data);
    const table = suppressSmallGroups(template, groups);
    const payload = buildResultPayload(
      {
        dealId: input.dealId,
        templateId: template.id,
        templateHash: input.templateHash,
        parameters: parameters.data,
      },
      table,
    );
    const resultRef = await deps.blobs.put(sealResult(payload, buyerKey));
    log.info('approved query released', {
      dealId: input.dealId,
      groupsReleased: table.groupsReleased,
      groupsSuppressed: table.groupsSuppressed,
    });
    return {
      resultRef,
      commitment: resultCommitment(payload),
      groupsReleased: table.groupsReleased,
      groupsSuppressed: table.groupsSuppressed,
    };
  }

  return { runApprovedQuery };
}

export type PerimeterActivities = ReturnType<typeof createPerimeterActivities>;
