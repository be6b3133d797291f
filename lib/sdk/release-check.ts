import { currentRegistration } from '../audit/key-registration';
import { KeyLogUntrustedError, readKeyLog } from '../key-log';
import { releaseStatementProblems, type ReleaseStatement } from '../release-statement';
import type { TuskClient } from '../tusk-client';

export type ReleaseCheck =
  | { ok: true; verified: true; statement: ReleaseStatement }
  /** The seller has no perimeter key in the log yet: there is nothing to check the answer against. */
  | { ok: true; verified: false; reason: string }
  | { ok: false; problems: string[] };

/** The seller's perimeter key as the transparency log registers it, proven to a head the operator signed. */
export async function registeredPerimeterKey(
  client: TuskClient,
  sellerId: string,
  operatorKey: string,
): Promise<string | undefined> {
  const checked = await readKeyLog((path) => client.get<unknown>(path), {
    partyId: sellerId,
    purpose: 'perimeter',
    operatorPublicKey: operatorKey,
  }).catch((error: Error) => {
    if (!(error instanceof KeyLogUntrustedError)) throw error;
    throw new Error(`the transparency log's answer about ${sellerId} fails: ${error.message}`);
  });
  return currentRegistration(checked.registrations)?.publicKey;
}

/**
 * Before a buyer accepts a sealed answer: the seller's perimeter must have signed a statement of this
 * release, under the perimeter key the log registers for the seller, naming this deal and exactly the
 * commitment the delivered blob opens to (openResult checks the blob against that commitment). Once a
 * seller's perimeter key is logged it is logged for good, so from then on an answer without a valid
 * statement (one the operator made up) is refused.
 */
export async function checkRelease(
  client: TuskClient,
  sealed: { dealId: string; commitment: string; release?: ReleaseStatement },
  sellerId: string,
  operatorKey: string,
  termsHash?: string,
): Promise<ReleaseCheck> {
  const perimeterKey = await registeredPerimeterKey(client, sellerId, operatorKey);
  if (!perimeterKey)
    return { ok: true, verified: false, reason: `seller ${sellerId} registers no perimeter key in the log` };
  const problems = releaseStatementProblems(sealed.release, {
    perimeterKey,
    dealId: sealed.dealId,
    commitment: sealed.commitment,
    ...(termsHash ? { termsHash } : {}),
  });
  return problems.length === 0
    ? { ok: true, verified: true, statement: sealed.release! }
    : { ok: false, problems };
}
