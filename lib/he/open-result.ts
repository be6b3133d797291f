import { decryptChunks, HeKeyError } from './ciphertexts';
import { ciphertextBytes, type HeVectorEnvelope } from './he-result';
import type { HeSecretKeyFile } from './buyer-keys';

/**
 * Decrypts an encrypted vector on the buyer's machine. A vector made for another key, or under
 * other parameters (the envelope's schema), is refused by name before any decryption: the buyer gets an error, not garbage.
 */
export async function openHeVector(secret: HeSecretKeyFile, envelope: HeVectorEnvelope) {
  if (envelope.keyRef !== secret.keyRef)
    throw new HeKeyError(
      `the result is encrypted to HE key ${envelope.keyRef}; this secret key is ${secret.keyRef}`,
    );
  return decryptChunks(new Uint8Array(Buffer.from(secret.secretKey, 'base64')), ciphertextBytes(envelope));
}
