import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { heSecretKeyFile, type HeSecretKeyFile } from '../../lib/he/buyer-keys';
import { HE_PARAMETER_ID } from '../../lib/he/seal-context';
import { uploadHeKeys, type TuskClient } from '../../sdk';
import { CliError, readText, writeFileAtomic } from '../common';

export const heSecretPath = (homeDir: string, buyerId: string) =>
  join(homeDir, 'keys', `${buyerId}.bfv.json`);

/**
 * Makes the buyer's BFV keys here, uploads the public and Galois keys and the key document to the
 * blob store, and keeps the secret key in a local file (mode 600). Returns the key document's ref.
 */
export async function createHeKeys(client: TuskClient, homeDir: string, buyerId: string): Promise<string> {
  const path = heSecretPath(homeDir, buyerId);
  if (existsSync(path)) throw new CliError(`HE keys for ${buyerId} exist at ${path}; not overwriting`);
  const secret = await uploadHeKeys(client);
  await writeFileAtomic(path, JSON.stringify(secret), 0o600);
  return secret.keyRef;
}

export async function readHeSecret(homeDir: string, buyerId: string): Promise<HeSecretKeyFile> {
  const path = heSecretPath(homeDir, buyerId);
  const parsed = heSecretKeyFile.safeParse(
    JSON.parse(
      await readText(path, `HE secret key of ${buyerId} (make it: tusk buyer keygen ${buyerId} --he)`),
    ),
  );
  if (!parsed.success) throw new CliError(`${path} is not a Tusk BFV secret key file for ${HE_PARAMETER_ID}`);
  return parsed.data;
}
