import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519KeyPair {
  /** base64url of the raw 32-byte public key: what parties publish. */
  publicKey: string;
  /** PKCS#8 PEM: stays with its owner. */
  privateKeyPem: string;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

function rawPublicKey(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length).toString('base64url');
}

export function ed25519PublicKey(rawBase64Url: string): KeyObject {
  const raw = Buffer.from(rawBase64Url, 'base64url');
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes (base64url)');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function publicKeyOf(privateKeyPem: string): string {
  return rawPublicKey(createPublicKey(createPrivateKey(privateKeyPem)));
}

export function signEd25519(privateKeyPem: string, message: Uint8Array | string): string {
  return sign(null, Buffer.from(message), createPrivateKey(privateKeyPem)).toString('base64url');
}

/** False for a wrong signature, a malformed signature or a malformed key: never throws. */
export function verifyEd25519(publicKey: string, message: Uint8Array | string, signature: string): boolean {
  try {
    return verify(
      null,
      Buffer.from(message),
      ed25519PublicKey(publicKey),
      Buffer.from(signature, 'base64url'),
    );
  } catch {
    return false;
  }
}
