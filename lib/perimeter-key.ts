import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadOrMakeSigningKey, perimeterKeyFile } from './key-log';
import { generateX25519KeyPair, type X25519KeyPair } from './sealed-box';
import { publicKeyFromPem } from './x25519-public';

export interface PerimeterKey {
  publicKey: string;
  privateKeyPem: string;
}

/**
 * A seller's perimeter signing key, in the perimeter's state directory: made by `tusk seller init`
 * (or at the perimeter's first start when missing; two makers keep one key). Its public key is what
 * the log registers as the seller's perimeter key (lib/release-statement.ts).
 */
export const loadPerimeterKey = (stateDir: string): Promise<PerimeterKey> =>
  loadOrMakeSigningKey(perimeterKeyFile(stateDir));

/** Where a seller's perimeter keeps its sealing (X25519) key, next to its signing key. */
export const perimeterSealingKeyFile = (stateDir: string) => join(stateDir, 'perimeter-sealing.x25519.pem');

/**
 * The perimeter's X25519 key: proposed drafts are sealed to it, so only the seller's perimeter (and
 * the seller, who runs it and reads its state directory) can read their SQL. Made on first use ('wx',
 * so two makers keep one key); the log registers its public key as the seller's `perimeter-sealing` key.
 */
export async function loadPerimeterSealingKey(stateDir: string): Promise<X25519KeyPair> {
  const path = perimeterSealingKeyFile(stateDir);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, generateX25519KeyPair().privateKeyPem, { mode: 0o600, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  const privateKeyPem = await readFile(path, 'utf8');
  return { publicKey: publicKeyFromPem(privateKeyPem), privateKeyPem };
}
