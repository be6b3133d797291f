import { createPrivateKey, createPublicKey } from 'node:crypto';

const X25519_SPKI_PREFIX_LENGTH = 12;

/** The base64url raw public key of an X25519 private key in PEM. */
export function publicKeyFromPem(privateKeyPem: string): string {
  const publicKey = createPublicKey(createPrivateKey(privateKeyPem));
  return publicKey
    .export({ format: 'der', type: 'spki' })
    .subarray(X25519_SPKI_PREFIX_LENGTH)
    .toString('base64url');
}
