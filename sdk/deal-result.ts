import type { ResultPayload } from '../lib/sealed-result';
import type { TuskClient } from '../lib/tusk-client';
import type { DealStatus } from '../workflows/deal/shapes';
import { checkRelease } from './release-check';
import { fetchDealResult, openAnyResult } from './results';
import { waitFor } from './wait';

/** The seller's perimeter did not sign for the answer delivered: it is not opened for the caller. */
export class ReleaseRefusedError extends Error {
  override name = 'ReleaseRefusedError';
  constructor(
    readonly dealId: string,
    readonly sellers: string,
    readonly problems: string[],
  ) {
    super(`refusing the answer of ${dealId}: it is not what ${sellers} released: ${problems.join('; ')}`);
  }
}

/** The operator's log key: the one pinned, else what the API says (trusting the operator for it). */
export async function operatorLogKey(client: TuskClient, pinned?: string): Promise<string> {
  return pinned ?? (await client.get<{ publicKey: string }>('/operator/key')).publicKey;
}

/**
 * A plain deal's sealed answer, its seller's release statement checked (against the terms the buyer
 * kept, when given), opened and its commitment checked. Throws ReleaseRefusedError when the seller's
 * perimeter did not sign for exactly this answer.
 */
export async function openDealTable(
  client: TuskClient,
  resultKeyPem: string,
  dealId: string,
  options: { logKey?: string; termsHash?: string } = {},
): Promise<ResultPayload> {
  const sealed = await fetchDealResult(client, dealId);
  const opened = await openAnyResult(sealed, { resultKeyPem });
  if (opened.kind !== 'table') throw new Error(`deal ${dealId} has an encrypted answer, not a table`);
  const { sellerId } = await client.get<{ sellerId?: string }>(`/deals/${encodeURIComponent(dealId)}`);
  if (!sellerId) throw new ReleaseRefusedError(dealId, 'its seller', [`deal ${dealId} names no seller`]);
  const wanted = {
    kind: 'sealed_table' as const,
    ...(options.termsHash ? { termsHash: options.termsHash } : {}),
  };
  const logKey = await operatorLogKey(client, options.logKey);
  const check = await checkRelease(client, sealed, sellerId, logKey, wanted);
  if (!check.ok) throw new ReleaseRefusedError(dealId, `seller ${sellerId}'s perimeter`, check.problems);
  return opened.payload;
}

/** How an answer was made private, in two lines a buyer reads. */
export function describePrivacy(privacy: ResultPayload['privacy']): string {
  const scales = Object.entries(privacy.noiseScales)
    .map(([column, scale]) => `${column} ±${scale}`)
    .join(', ');
  const groups =
    privacy.groupRelease.kind === 'declared_domain'
      ? `every group of the declared domain; numbers withheld where the noisy count is under ${privacy.minCohortSize}`
      : `groups whose noisy count reached ${Math.max(privacy.groupRelease.threshold, privacy.minCohortSize)} (private partition selection, δ ${privacy.groupRelease.delta})`;
  return [
    groups,
    `${privacy.mechanism.replace('_', ' ')} noise (scale ${scales}), ε spent ${privacy.epsilonSpent}${privacy.delta > 0 ? `, δ ${privacy.delta}` : ''}`,
  ].join('\n');
}

/** Polls a deal until `done`, for scripts and tests that wait on their own condition. */
export function waitForDeal(
  client: TuskClient,
  dealId: string,
  done: (status: DealStatus) => boolean,
  timeoutMs = 600_000,
  intervalMs = 200,
): Promise<DealStatus> {
  return waitFor<DealStatus>(client, `/deals/${encodeURIComponent(dealId)}`, done, { timeoutMs, intervalMs });
}
