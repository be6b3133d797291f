import { readHistory, type HistoryJson } from './history-json';
import type { ReceiptFacts } from './receipt';
import { moneyFactsOf } from './settlement-facts';

/** The workflow types that settle a deal, and the receipt kind of each. */
export const SETTLING_WORKFLOWS: Record<string, ReceiptFacts['kind']> = {
  cohortQueryDeal: 'cohort_query',
  multiSellerDeal: 'multi_seller',
  milestoneGrant: 'grant',
  subscription: 'subscription_period',
};

export interface DealRun {
  workflowId: string;
  runId: string;
  history: HistoryJson;
}

type DealInput = {
  dealId?: string;
  grantId?: string;
  buyerId?: string;
  sponsorId?: string;
  sellerId?: string;
  granteeId?: string;
  sellers?: { sellerId: string; templateHash?: string }[];
  templateId?: string;
  templateHash?: string;
  feeBps?: number;
};

const eventTime = (history: HistoryJson, at: 'first' | 'last') => {
  const event = at === 'first' ? history.events[0] : history.events.at(-1);
  return typeof event?.eventTime === 'string' ? Date.parse(event.eventTime) : Number.NaN;
};

const isClosed = (history: HistoryJson) =>
  history.events.at(-1)?.workflowExecutionCompletedEventAttributes !== undefined ||
  history.events.at(-1)?.workflowExecutionFailedEventAttributes !== undefined;

/**
 * What a receipt states, read from the deal's recorded histories alone (its runs and children): the
 * operator issues receipts from them, and an auditor recomputes the same facts from a bundle to check
 * the receipt. Undefined while the deal has not finished.
 */
export function receiptFactsOf(
  dealId: string,
  runs: DealRun[],
  settlement: Pick<ReceiptFacts, 'adapter' | 'ledgerEntries'>,
): ReceiptFacts | undefined {
  const own = runs.filter((run) => run.workflowId === dealId);
  const first = own[0];
  const last = own.at(-1);
  if (!first || !last || !isClosed(last.history)) return undefined;
  const opening = readHistory(first.history);
  const kind = SETTLING_WORKFLOWS[opening.workflowType];
  if (!kind) return undefined;
  const input = (opening.input[0] ?? {}) as DealInput;
  const calls = runs.flatMap((run) => readHistory(run.history).activities);
  const money = moneyFactsOf(calls);
  const commitment = calls
    .filter(
      (c) => c.completed && (c.activityType === 'runApprovedQuery' || c.activityType === 'sumCiphertexts'),
    )
    .map((c) => (c.result as { commitment?: string } | undefined)?.commitment)
    .findLast((c) => c !== undefined);
  const templateHash = input.templateHash ?? input.sellers?.[0]?.templateHash;
  const sellers = input.sellers?.map((s) => s.sellerId) ?? [input.sellerId ?? input.granteeId ?? ''];
  return {
    dealId,
    kind,
    outcome: money.payouts.length === 0 && money.refunds.length > 0 ? 'refunded' : 'settled',
    ...(input.templateId ? { templateId: input.templateId } : {}),
    ...(templateHash ? { templateHash } : {}),
    ...(commitment ? { resultCommitment: commitment } : {}),
    parties: { buyer: input.buyerId ?? input.sponsorId ?? '', sellers },
    feeBps: input.feeBps ?? 0,
    money,
    ...settlement,
    startedAt: eventTime(first.history, 'first'),
    settledAt: eventTime(last.history, 'last'),
  };
}
