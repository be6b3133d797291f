import { PartyRegistry, type PartyRole } from '../../lib/parties';

/** A principal as the registry knows it: its role and the key its decisions must verify under. */
export interface RegisteredPrincipal {
  id: string;
  role: PartyRole;
  publicKey: string;
}

/**
 * The one place the coordinator learns a principal's key. It reads the operator's party registry
 * today; switching it to registrations proven in the transparency log changes only this function.
 * Read on every call: a principal registered (or removed) since the worker started counts as such.
 */
export async function registeredPrincipal(
  partiesFile: string,
  principal: string,
): Promise<RegisteredPrincipal | undefined> {
  const party = (await PartyRegistry.load(partiesFile)).get(principal);
  return party && { id: party.id, role: party.role, publicKey: party.publicKey };
}
