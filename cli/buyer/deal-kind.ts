import { TuskApiError, type TuskClient } from '../../sdk';
import { encode } from '../party-commands';

export type DealKind = 'cohort_query' | 'multi_seller';

/**
 * Whether an id names a plain deal or a multi-seller deal: `--multi` says so; otherwise the plain
 * deal is asked for first and, when there is none, the multi-seller deal (as `result` does), so no
 * command needs the flag.
 */
export async function dealKindOf(
  client: TuskClient,
  dealId: string,
  multi: boolean | undefined,
): Promise<{ kind: DealKind; path: string }> {
  const multiPath = `/multi-seller-deals/${encode(dealId)}`;
  if (multi) return { kind: 'multi_seller', path: multiPath };
  try {
    await client.get<unknown>(`/deals/${encode(dealId)}`);
    return { kind: 'cohort_query', path: `/deals/${encode(dealId)}` };
  } catch (error) {
    if (!(error instanceof TuskApiError) || error.status !== 404) throw error;
    await client.get<unknown>(multiPath); // a 404 here too says the id names neither
    return { kind: 'multi_seller', path: multiPath };
  }
}
