import { z } from 'zod';
import {
  dealEscrowId,
  grantEscrowId,
  periodEscrowId,
  shareEscrowId,
  termsNonceOf,
} from '../lib/ids/escrow-ids';
import { disclosureWorkflowId, grantWorkflowId, subscriptionWorkflowId } from '../lib/ids/workflow-ids';
import { parseSubscriptionRunId } from '../lib/ids/run-ids';
import type { ActivityCall } from './history-json';
import type { ShownMilestoneCheck } from '../workflows/grant/shapes';

/**
 * What one audit bundle covers. A deal is a one-time or a multi-seller deal, with its children (a
 * dispute and its split); a subscription is audited one period at a time (its money moves per
 * period, and a chain of runs can span years); a grant with all its tranches; a disclosure alone.
 */
export const auditSubject = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('deal'), dealId: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('subscription_period'),
    subscriptionId: z.string().min(1),
    period: z.number().int().min(1),
  }),
  z.strictObject({ kind: z.literal('grant'), grantId: z.string().min(1) }),
  z.strictObject({ kind: z.literal('disclosure'), disclosureId: z.string().min(1) }),
]);
export type AuditSubject = z.infer<typeof auditSubject>;

/** The workflow whose runs (and children) hold the subject's history. */
export function rootWorkflowId(subject: AuditSubject): string {
  switch (subject.kind) {
    case 'deal':
      return subject.dealId;
    case 'subscription_period':
      return subscriptionWorkflowId(subject.subscriptionId);
    case 'grant':
      return grantWorkflowId(subject.grantId);
    case 'disclosure':
      return disclosureWorkflowId(subject.disclosureId);
  }
}

/**
 * The subject's key in the transparency log and its receipts: a deal's id, a grant's or disclosure's
 * workflow id (what the receipt sweep already issues grant receipts under), a period as
 * `subscription:<id>/period-<n>`. Ids never contain `:`, so the keys of different kinds never meet.
 */
export function subjectKey(subject: AuditSubject): string {
  return subject.kind === 'subscription_period'
    ? `${rootWorkflowId(subject)}/period-${subject.period}`
    : rootWorkflowId(subject);
}

type SubjectInput = {
  sellers?: { sellerId: string }[];
  /** The payer's signed terms: their nonce names the escrows (absent in histories from before). */
  terms?: { body: Record<string, unknown> };
};

/**
 * The escrows whose money the subject moved: read from the subject and its recorded input, never
 * from anything the operator states beside the histories.
 */
export function escrowsOf(subject: AuditSubject, input: unknown): string[] {
  const nonce = termsNonceOf((input as SubjectInput | undefined)?.terms);
  switch (subject.kind) {
    case 'deal': {
      const sellers = (input as SubjectInput | undefined)?.sellers;
      return sellers
        ? sellers.map((s) => shareEscrowId(subject.dealId, s.sellerId, nonce))
        : [dealEscrowId(subject.dealId, nonce)];
    }
    case 'subscription_period':
      return [periodEscrowId(subject.subscriptionId, subject.period, nonce)];
    case 'grant':
      return [grantEscrowId(subject.grantId, nonce)];
    case 'disclosure':
      return [];
  }
}

const inputField = (call: ActivityCall, field: string): unknown =>
  (call.input[0] as Record<string, unknown> | undefined)?.[field];

/**
 * The calls that belong to the subject: settlement calls on its escrows, perimeter calls of its
 * deal or period. A subscription run holds several periods; only this period's calls count.
 */
export function subjectCalls(subject: AuditSubject, input: unknown, calls: ActivityCall[]): ActivityCall[] {
  if (subject.kind !== 'subscription_period') return calls;
  const escrows = escrowsOf(subject, input);
  // A perimeter call's deal id is the run id of one of the period's scheduled queries.
  const isPeriodRun = (id: string) =>
    parseSubscriptionRunId(id, subject.subscriptionId)?.period === subject.period;
  return calls.filter((call) => {
    const id = inputField(call, 'dealId');
    return typeof id === 'string' && (escrows.includes(id) || isPeriodRun(id));
  });
}

/** A template a subject's input pins, by the seller that signed it. */
export interface PinnedTemplate {
  sellerId: string;
  templateId: string;
  templateHash: string;
}

type PinningInput = {
  sellerId?: string;
  templateId?: string;
  templateHash?: string;
  sellers?: { sellerId: string; templateHash: string }[];
  queries?: { templateId: string; templateHash: string }[];
  milestones?: { check: ShownMilestoneCheck }[];
};

/** Every template the workflow's input pins: one per seller, scheduled query or checked milestone. */
export function pinnedTemplates(workflowType: string, rawInput: unknown): PinnedTemplate[] {
  const input = (rawInput ?? {}) as PinningInput;
  const pinned: PinnedTemplate[] = [];
  const add = (sellerId?: string, templateId?: string, templateHash?: string) => {
    if (!sellerId || !templateId || !templateHash) return;
    if (!pinned.some((p) => p.sellerId === sellerId && p.templateHash === templateHash))
      pinned.push({ sellerId, templateId, templateHash });
  };
  switch (workflowType) {
    case 'cohortQueryDeal':
      add(input.sellerId, input.templateId, input.templateHash);
      break;
    case 'multiSellerDeal':
      for (const share of input.sellers ?? []) add(share.sellerId, input.templateId, share.templateHash);
      break;
    case 'subscription':
      for (const query of input.queries ?? []) add(input.sellerId, query.templateId, query.templateHash);
      break;
    case 'milestoneGrant':
      for (const { check } of input.milestones ?? [])
        if (check.kind === 'query') add(check.sellerId, check.templateId, check.templateHash);
      break;
  }
  return pinned;
}

const PERIOD_KEY = /^subscription:([^:/]+)\/period-([1-9][0-9]{0,6})$/;

/**
 * The subject a key names (the inverse of `subjectKey`), as the CLI takes it: `<deal id>`,
 * `grant:<id>`, `disclosure:<id>` or `subscription:<id>/period-<n>`. Undefined for anything else.
 */
export function subjectOfKey(key: string): AuditSubject | undefined {
  const period = PERIOD_KEY.exec(key);
  if (period) return { kind: 'subscription_period', subscriptionId: period[1]!, period: Number(period[2]) };
  const [prefix, id, ...rest] = key.split(':');
  if (rest.length > 0 || !prefix) return undefined;
  if (id === undefined) return { kind: 'deal', dealId: prefix };
  if (!id) return undefined;
  if (prefix === 'grant') return { kind: 'grant', grantId: id };
  if (prefix === 'disclosure') return { kind: 'disclosure', disclosureId: id };
  return undefined;
}

/** The API path of a subject's bundle or receipt. */
export function subjectPath(subject: AuditSubject, what: 'audit-bundle' | 'receipt'): string {
  const e = encodeURIComponent;
  switch (subject.kind) {
    case 'deal':
      return `/deals/${e(subject.dealId)}/${what}`;
    case 'subscription_period':
      return `/subscriptions/${e(subject.subscriptionId)}/periods/${subject.period}/${what}`;
    case 'grant':
      return `/grants/${e(subject.grantId)}/${what}`;
    case 'disclosure':
      return `/disclosures/${e(subject.disclosureId)}/${what}`;
  }
}
