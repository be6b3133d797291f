/**
 * A subscription's period and the runs of its scheduled queries: `<subscription id>/period-<n>` and
 * `<subscription id>/period-<n>/query-<i>`. The workflow builds them here and the perimeter parses
 * them here, so the two cannot drift apart.
 */
export const subscriptionPeriodId = (subscriptionId: string, period: number) =>
  `${subscriptionId}/period-${period}`;

export const subscriptionRunId = (subscriptionId: string, period: number, queryIndex: number) =>
  `${subscriptionPeriodId(subscriptionId, period)}/query-${queryIndex}`;

/** Periods 1 to 999,999,999 and query indexes 0 to 9,999, written without leading zeros. */
const RUN_TAIL = /^([1-9][0-9]{0,8})\/query-(0|[1-9][0-9]{0,3})$/;

/** The period and query index of one of this subscription's runs; undefined for any other id. */
export function parseSubscriptionRunId(
  runId: string,
  subscriptionId: string,
): { period: number; queryIndex: number } | undefined {
  const prefix = `${subscriptionId}/period-`;
  if (!runId.startsWith(prefix)) return undefined;
  const run = RUN_TAIL.exec(runId.slice(prefix.length));
  return run ? { period: Number(run[1]), queryIndex: Number(run[2]) } : undefined;
}

/**
 * The privacy-ledger id a grant milestone's run is charged under (beside the grant terms' nonce): the
 * perimeter charges it here, and audit looks the charge up here.
 */
export const milestoneChargeId = (grantId: string, milestoneId: string) =>
  `milestone:${grantId}/${milestoneId}`;
