import type { Party } from '../../lib/parties';
import type { TransparencyLog } from './log-store';

/**
 * Logs each party's key as the registry holds it: a new party or a rotated key becomes a new entry of
 * the transparency log, which the party's `key check` and every perimeter read. Returns how many keys
 * were newly logged.
 */
export function logPartyKeys(log: TransparencyLog, parties: readonly Party[]): number {
  let logged = 0;
  for (const party of parties) {
    if (log.registerKey(party, 'party')) logged += 1;
    if (party.perimeterKey && log.registerKey({ ...party, publicKey: party.perimeterKey }, 'perimeter'))
      logged += 1;
    if (
      party.perimeterSealingKey &&
      log.registerKey({ ...party, publicKey: party.perimeterSealingKey }, 'perimeter-sealing')
    )
      logged += 1;
  }
  return logged;
}
