import { loadOrMakeSigningKey, serviceIdentity } from '../../lib/key-log';
import { addParty } from './commands';

/**
 * Settlement and the coordinator read the transparency log of keys, which answers registered parties
 * only: each gets its own key (under `home`, made once) and is registered as a party of role operator.
 */
export async function registerOperatorServices(partiesFile: string, home: string): Promise<void> {
  for (const service of ['settlement', 'coordinator'] as const) {
    const { partyId, keyFile } = serviceIdentity(service, home);
    const { publicKey } = await loadOrMakeSigningKey(keyFile);
    await addParty(partiesFile, { id: partyId, role: 'operator', publicKey });
  }
}
