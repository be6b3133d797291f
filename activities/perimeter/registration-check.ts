import type { RegisteredKeys } from '../../lib/key-log';

/** The keys a perimeter holds and the log should register for its seller. */
export interface PerimeterKeys {
  sellerId: string;
  /** Signs release statements and refusals (purpose `perimeter`). */
  signingKey: string;
  /** Drafts proposed to this seller are sealed to it (purpose `perimeter-sealing`). */
  sealingKey: string;
}

const registerHint = (keys: PerimeterKeys) =>
  `register them from the seller's own machine: tusk operator party add ${keys.sellerId} --role seller --from seller.json (or --perimeter-key ${keys.signingKey} --perimeter-sealing-key ${keys.sealingKey})`;

/**
 * Why this perimeter's answers will not be accepted, or undefined when the transparency log
 * registers exactly its keys. A perimeter whose key the log does not register still starts (the
 * operator may register it a minute later), but every deal it answers is refused by buyers and by
 * settlement, and it cannot read the log itself: a newcomer sees deals that never answer. Saying so
 * at start names the cause and the command that fixes it.
 */
export async function perimeterRegistrationProblem(
  log: RegisteredKeys,
  keys: PerimeterKeys,
  unreachable = { attempts: 12, waitMs: 5_000 },
): Promise<string | undefined> {
  let signing, sealing;
  try {
    // The API may still be starting beside this worker (tusk up): a log that cannot be reached yet
    // is asked again; one that answers is believed at once.
    for (let attempt = 1; ; attempt++) {
      try {
        signing = await log.currentKey(keys.sellerId, 'perimeter');
        sealing = await log.currentKey(keys.sellerId, 'perimeter-sealing');
        break;
      } catch (error) {
        // fetch rejects with a TypeError when nothing answers; an answer that refuses is an Error.
        if (!(error instanceof TypeError) || attempt >= unreachable.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, unreachable.waitMs));
      }
    }
  } catch (error) {
    // The log answers signed reads only from registered keys: a refusal here usually means this
    // perimeter's key is not (yet) registered.
    return `the transparency log did not answer this perimeter (${(error as Error).message}): if its keys are not registered, deals are never answered; ${registerHint(keys)}`;
  }
  const problems: string[] = [];
  if (signing?.publicKey !== keys.signingKey)
    problems.push(
      `the transparency log registers ${signing ? `another perimeter key for ${keys.sellerId} (${signing.publicKey}; this perimeter holds ${keys.signingKey})` : `no perimeter key for ${keys.sellerId}`}: buyers and settlement refuse every release and refusal this perimeter signs`,
    );
  if (sealing?.publicKey !== keys.sealingKey)
    problems.push(
      `the transparency log registers ${sealing ? `another perimeter sealing key for ${keys.sellerId}` : `no perimeter sealing key for ${keys.sellerId}`}: template drafts cannot be sealed to this perimeter`,
    );
  return problems.length === 0 ? undefined : `${problems.join('; ')}; ${registerHint(keys)}`;
}
