import { canonicalJson } from '../lib/canonical-json';
import { generateHeKeys, type HeSecretKeyFile } from '../lib/he/buyer-keys';
import { HE_PARAMETER_ID } from '../lib/he/seal-context';
import type { TuskClient } from '../lib/tusk-client';

/**
 * Makes BFV keys here, uploads the public and Galois keys and the key document, and returns the
 * secret key file's content (with the document's ref) for the caller to keep: it never leaves.
 */
export async function uploadHeKeys(client: TuskClient): Promise<HeSecretKeyFile> {
  const keys = await generateHeKeys();
  const publicKeyRef = await client.putBlob(keys.publicKey);
  const galoisKeysRef = await client.putBlob(keys.galoisKeys);
  const document = { kind: 'bfv', parameters: HE_PARAMETER_ID, publicKeyRef, galoisKeysRef };
  const keyRef = await client.putBlob(Buffer.from(canonicalJson(document)));
  return {
    kind: 'bfv-secret',
    parameters: HE_PARAMETER_ID,
    keyRef,
    publicKey: Buffer.from(keys.publicKey).toString('base64'),
    secretKey: Buffer.from(keys.secretKey).toString('base64'),
  };
}
