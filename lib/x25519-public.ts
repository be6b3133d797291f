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

/**
 * Curve25519 points of small order (and their non-canonical encodings p and p + 1), from
 * libsodium's blacklist in crypto_scalarmult/curve25519/ref10/x25519_ref10.c (has_small_order),
 * the list RFC 7748 §6.1 alludes to when it tells implementations to check for an all-zero shared
 * secret. A Diffie-Hellman with any of them yields all zeros whatever our key: nothing could be
 * sealed to it (OpenSSL refuses the exchange), so the API refuses such a key up front.
 */
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1 (order 2)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p, that is 0
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1, that is 1
].map((hex) => Buffer.from(hex, 'hex'));

/** Whether 32 raw bytes are a low-order point; X25519 ignores the top bit, so this does too. */
export function isLowOrderX25519(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  const masked = Buffer.from(raw);
  masked[31]! &= 0x7f;
  return LOW_ORDER_POINTS.some((point) => point.equals(masked));
}

/** Why a base64url X25519 public key cannot be used, or undefined when it can. */
export function x25519PublicKeyProblem(base64url: string): string | undefined {
  const raw = Buffer.from(base64url, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== base64url)
    return 'not a base64url encoding of 32 bytes';
  if (isLowOrderX25519(raw))
    return 'a low-order X25519 point (such as all zeros): no secret can be shared with it';
  return undefined;
}
