import {
  checkContributions,
  checkRelease,
  type ReleaseStatement,
  type ReleaseWanted,
  type TuskClient,
} from '../../sdk';
import { CliError, EXIT } from '../common';

/** The operator's log key: the one pinned (flag or TUSK_OPERATOR_KEY), else what the API says. */
export async function logKeyOf(client: TuskClient, pinned?: string): Promise<string> {
  return (
    pinned ??
    process.env.TUSK_OPERATOR_KEY ??
    (await client.get<{ publicKey: string }>('/operator/key')).publicKey
  );
}

const TERMS_PROBLEM = /other terms than the ones the buyer signed/;

export function releaseRefusal(id: string, sellers: string, problems: string[]): CliError {
  if (problems.some((p) => TERMS_PROBLEM.test(p)))
    return new CliError(
      `refusing the answer of ${id}: ${sellers} released it for other terms than the ones you signed and kept here ($TUSK_HOME/terms): ${problems.join('; ')}`,
      EXIT.refused,
    );
  return new CliError(
    `refusing the answer of ${id}: it is not what ${sellers} released: ${problems.join('; ')}`,
    EXIT.refused,
  );
}

/**
 * Refuses (exit 1) an answer the seller's perimeter did not sign for: the operator can write a blob
 * sealed or encrypted to the buyer's key and a matching commitment, but not the perimeter's statement.
 */
export async function requireSellersRelease(
  client: TuskClient,
  sealed: { dealId: string; commitment: string; ciphertext?: string; release?: ReleaseStatement },
  sellerId: string,
  wanted: ReleaseWanted,
  operatorKey?: string,
): Promise<void> {
  const check = await checkRelease(client, sealed, sellerId, await logKeyOf(client, operatorKey), wanted);
  if (!check.ok) throw releaseRefusal(sealed.dealId, `seller ${sellerId}'s perimeter`, check.problems);
}

/** As `requireSellersRelease`, for a multi-seller sum: every contributor signed its own part. */
export async function requireContributions(
  client: TuskClient,
  sealed: { dealId: string; releases?: ReleaseStatement[] },
  sellerIds: readonly string[],
  termsHash: string,
  operatorKey?: string,
): Promise<void> {
  const check = await checkContributions(
    client,
    sealed,
    sellerIds,
    await logKeyOf(client, operatorKey),
    termsHash,
  );
  if (!check.ok) throw releaseRefusal(sealed.dealId, "the sellers' perimeters", check.problems);
}
