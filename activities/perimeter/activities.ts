import { log } from '@temporalio/activity';
import { BlobStore } from '../../lib/blob-store';
import { ApprovedQueryRunner, refuse } from './approved-query';
import { cohortAggregateSql } from './cohort-sql';
import type { SandboxLimits } from './sandbox';
import { buildResultPayload, buyerKeyDocument, resultCommitment, sealResult } from '../../lib/sealed-result';
import { suppressSmallGroups } from './suppression';
import type { RunApprovedQueryInput, RunApprovedQueryResult } from './types';

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

export function createPerimeterActivities(deps: PerimeterDeps) {
  const approved = ApprovedQueryRunner.for(deps);

  async function buyerPublicKey(ref: string): Promise<string> {
    try {
      return buyerKeyDocument.parse(JSON.parse((await deps.blobs.get(ref)).toString('utf8'))).publicKey;
    } catch {
      refuse('InvalidBuyerKey', `no readable X25519 buyer key at ${ref}`);
    }
  }

  /**
   * The only way into the seller's data: a template this seller signed, pinned by hash, with
   * parameters in bounds; the perimeter aggregates, suppresses small groups and seals the table to
   * the buyer's key. Only a blob reference, a commitment and counts come out.
   */
  async function runApprovedQuery(input: RunApprovedQueryInput): Promise<RunApprovedQueryResult> {
    const template = await approved.loadTemplate(input.templateId, input.templateHash);
    const parameters = approved.checkParameters(template, input.parameters);
    const buyerKey = await buyerPublicKey(input.buyerKeyRef);
    const groups = await approved.run(template, cohortAggregateSql(template), parameters);
    const table = suppressSmallGroups(template, groups);
    const payload = buildResultPayload(
      {
        dealId: input.dealId,
        templateId: template.id,
        templateHash: input.templateHash,
        parameters,
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
