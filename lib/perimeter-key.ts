import { loadOrMakeSigningKey, perimeterKeyFile } from './key-log';

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
