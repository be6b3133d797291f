import { readHistory, type ActivityCall, type HistoryJson } from './history-json';
import type { ReceiptFacts } from './receipt';
import { moneyFactsOf } from './settlement-facts';
import { escrowsOf, subjectCalls, subjectKey, type AuditSubject } from './subject';

/** The workflow types that settle money, and the receipt kind of each. */
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

/** The subject's own recorded input: the first run of its root workflow. */
export function subjectInput(runs: DealRun[]): unknown {
  return runs[0] ? readHistory(runs[0].history).input[0] : undefined;
}

/** Every activity call of the runs that belongs to the subject (a period's, not its neighbours'). */
export function callsOfSubject(subject: AuditSubject, runs: DealRun[]): ActivityCall[] {
  const calls = runs.flatMap((run) => readHistory(run.history).activities);
  return subjectCalls(subject, subjectInput(runs), calls);
}

/**
 * A subject has finished when its money has: a deal's or grant's workflow closed; a subscription
 * period's charge released to the seller or refunded (the subscription itself runs on).
 */
function finished(subject: AuditSubject, runs: DealRun[], calls: ActivityCall[]): boolean {
  if (subject.kind !== 'subscription_period') {
    const last = runs.filter((run) => run.workflowId === runs[0]?.workflowId).at(-1);
    return last !== undefined && isClosed(last.history);
  }
  const [escrow] = escrowsOf(subject, subjectInput(runs));
  return calls.some(
    (c) =>
      c.completed &&
      (c.activityType === 'releaseEscrow' || c.activityType === 'refundEscrow') &&
      (c.input[0] as { dealId?: string } | undefined)?.dealId === escrow,
  );
}

/** The result commitment of the subject's last delivered result, if it delivered one. */
export function commitmentOf(calls: ActivityCall[]): string | undefined {
  return calls
    .filter(
      (c) => c.completed && (c.activityType === 'runApprovedQuery' || c.activityType === 'sumCiphertexts'),
    )
    .map((c) => (c.result as { commitment?: string } | undefined)?.commitment)
    .findLast((c) => c !== undefined);
}

/**
 * What a receipt states, read from the subject's recorded histories alone (its runs and children):
 * the operator issues receipts from them, and an auditor recomputes the same facts from a bundle to
 * check the receipt. Undefined while the subject has not finished, and for a subject that moves no
 * money (a disclosure): a receipt attests a settlement, and there is none.
 */
export function receiptFactsOf(
  subject: AuditSubject,
  runs: DealRun[],
  settlement: Pick<ReceiptFacts, 'adapter' | 'ledgerEntries'>,
): ReceiptFacts | undefined {
  const root = runs[0]?.workflowId;
  const own = runs.filter((run) => run.workflowId === root);
  const first = own[0];
  const last = own.at(-1);
  if (!first || !last) return undefined;
  const opening = readHistory(first.history);
  const kind = SETTLING_WORKFLOWS[opening.workflowType];
  if (!kind) return undefined;
  const calls = callsOfSubject(subject, runs);
  if (!finished(subject, runs, calls)) return undefined;
  const input = (opening.input[0] ?? {}) as DealInput;
  const money = moneyFactsOf(calls);
  const commitment = commitmentOf(calls);
  const templateHash = input.templateHash ?? input.sellers?.[0]?.templateHash;
  const sellers = input.sellers?.map((s) => s.sellerId) ?? [input.sellerId ?? input.granteeId ?? ''];
  return {
    dealId: subjectKey(subject),
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
