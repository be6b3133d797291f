import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { Party } from '../../lib/parties';
import { TUSK_KIND, type LifecycleKind } from '../../lib/search-attributes';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import { disclosureStatusQuery } from '../../workflows/disclosure/workflow';
import { disputeStatusQuery } from '../../workflows/dispute/workflow';
import { grantStatusQuery } from '../../workflows/grant/workflow';
import { multiSellerStatusQuery } from '../../workflows/multi-seller/workflow';
import { subscriptionStatusQuery } from '../../workflows/subscription/workflow';
import { ApiError } from '../errors';
import type { PartySearch } from './party-search';
import type { ListDealsQuery, ListedDeal } from './schemas';

/** Each kind's status query and how its API id sits in its workflow id. */
const KINDS: Record<
  LifecycleKind,
  { status: QueryDefinition<{ stage: string }, []>; apiId: (id: string) => string }
> = {
  deal: { status: dealStatusQuery, apiId: (id) => id },
  multi_seller: { status: multiSellerStatusQuery, apiId: (id) => id },
  subscription: { status: subscriptionStatusQuery, apiId: (id) => id.replace(/^subscription:/, '') },
  grant: { status: grantStatusQuery, apiId: (id) => id.replace(/^grant:/, '') },
  dispute: { status: disputeStatusQuery, apiId: (id) => id.replace(/:dispute$/, '') },
  disclosure: { status: disclosureStatusQuery, apiId: (id) => id.replace(/^disclosure:/, '') },
};

/** A value inside a visibility query: ours are enum values, tokens and ISO instants, quoted anyway. */
const quoted = (value: string) => `'${value.replaceAll("'", "\\'")}'`;

/**
 * Lists the lifecycles a party may see, through Temporal's visibility: a party its own (by its
 * token in TuskParties), auditors every kind but other auditors' disclosures, compliance and the
 * operator everything. Each item holds no party and no amount, so it needs no further redaction.
 */
export class ListingService {
  constructor(
    private readonly temporal: Client,
    private readonly search: PartySearch | undefined,
  ) {}

  private visibleTo(party: Party, search: PartySearch): string | undefined {
    const own = `TuskParties = ${quoted(search.token(party.id))}`;
    if (party.role === 'operator' || party.role === 'compliance') return undefined;
    if (party.role === 'auditor') return `(TuskKind != 'disclosure' OR ${own})`;
    return own;
  }

  async list(party: Party, filter: ListDealsQuery): Promise<{ deals: ListedDeal[] }> {
    if (!this.search)
      throw new ApiError('temporal_unavailable', 'this API lists no deals: it holds no history keys');
    // A subscription's earlier runs (continued as new) are the same subscription.
    const clauses = [`TuskKind IS NOT NULL`, `ExecutionStatus != 'ContinuedAsNew'`];
    const visible = this.visibleTo(party, this.search);
    if (visible) clauses.push(visible);
    if (filter.kind) clauses.push(`TuskKind = ${quoted(filter.kind)}`);
    if (filter.since) clauses.push(`StartTime >= ${quoted(new Date(filter.since).toISOString())}`);
    if (filter.until) clauses.push(`StartTime < ${quoted(new Date(filter.until).toISOString())}`);
    const found: WorkflowExecutionInfo[] = [];
    for await (const execution of this.temporal.workflow.list({ query: clauses.join(' AND ') })) {
      found.push(execution);
      if (found.length >= filter.limit) break;
    }
    return { deals: await Promise.all(found.map((execution) => this.item(execution))) };
  }

  private async item(execution: WorkflowExecutionInfo): Promise<ListedDeal> {
    const kind = execution.typedSearchAttributes.get(TUSK_KIND) as LifecycleKind;
    const { status, apiId } = KINDS[kind];
    // The lifecycle's own stage; a workflow that cannot answer shows Temporal's execution status.
    const stage = await this.temporal.workflow
      .getHandle(execution.workflowId, execution.runId)
      .query(status)
      .then(
        (answer) => answer.stage,
        () => execution.status.name.toLowerCase(),
      );
    return {
      id: apiId(execution.workflowId),
      kind,
      stage,
      startedAt: execution.startTime.toISOString(),
      ...(execution.closeTime ? { closedAt: execution.closeTime.toISOString() } : {}),
    };
  }
}
