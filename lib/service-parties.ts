import { readFile } from 'node:fs/promises';
import { loadOrMakeSigningKey, serviceIdentity } from './key-log';
import { addParty, partiesFile as partiesFileSchema } from './parties';

/** One operator service's registration: its party id, key, and whether this call added or changed it. */
export interface ServiceRegistration {
  partyId: string;
  publicKey: string;
  changed: boolean;
}

/**
 * Settlement and the coordinator read the transparency log of keys, which answers registered parties
 * only: each gets its own key (under `home`, made once) and is registered as a party of role operator.
 * Idempotent: a service already registered with its key leaves the file untouched.
 */
export async function registerOperatorServices(
  partiesFile: string,
  home: string,
): Promise<ServiceRegistration[]> {
  const registered: ServiceRegistration[] = [];
  for (const service of ['settlement', 'coordinator'] as const) {
    const { partyId, keyFile } = serviceIdentity(service, home);
    const { publicKey } = await loadOrMakeSigningKey(keyFile);
    const current = (await readParties(partiesFile)).find((p) => p.id === partyId);
    const changed = current?.role !== 'operator' || current.publicKey !== publicKey;
    if (changed) await addParty(partiesFile, { id: partyId, role: 'operator', publicKey });
    registered.push({ partyId, publicKey, changed });
  }
  return registered;
}

async function readParties(path: string) {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? [] : partiesFileSchema.parse(JSON.parse(text)).parties;
}
