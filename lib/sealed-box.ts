import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/**
 * Sealed box: anyone can encrypt to a recipient's X25519 public key; only the recipient can open it.
 * A fresh ephemeral key per box; the AES-256-GCM key comes from HKDF-SHA256 over the shared secret,
 * bound to both public keys. Layout: version (1) | ephemeral public key (32) | nonce (12) | ciphertext | tag (16).
 */
const VERSION = 1;
const HKDF_INFO = Buffer.from('tusk sealed box v1');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const HEADER = 1 + 32 + 12;
const TAG = 16;

export interface X25519KeyPair {
  /** base64url of the raw 32-byte public key. */
  publicKey: string;
  /** PKCS#8 PEM: never leaves its owner. */
  privateKeyPem: string;
}

export class SealedBoxError extends Error {
  override name = 'SealedBoxError';
}

export function generateX25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: rawX25519(publicKey).toString('base64url'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function x25519PublicKey(rawBase64Url: string): KeyObject {
  const raw = Buffer.from(rawBase64Url, 'base64url');
  if (raw.length !== 32) throw new SealedBoxError('an X25519 public key is 32 bytes (base64url)');
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawX25519(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length);
}

function boxKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), HKDF_INFO, 32));
}

/** `context` (e.g. the deal id) is authenticated, not encrypted: a box cannot be replayed as another deal's. */
export function seal(plaintext: Uint8Array, recipientPublicKey: string, context: string): Buffer {
  const recipient = x25519PublicKey(recipientPublicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawX25519(ephemeral.publicKey);
  const key = boxKey(
    diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }),
    ephemeralRaw,
    rawX25519(recipient),
  );
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), ephemeralRaw, nonce, body, cipher.getAuthTag()]);
}

export function open(box: Uint8Array, recipientPrivateKeyPem: string, context: string): Buffer {
  const bytes = Buffer.from(box);
  if (bytes.length < HEADER + TAG || bytes[0] !== VERSION) throw new SealedBoxError('not a Tusk sealed box');
  const privateKey = createPrivateKey(recipientPrivateKeyPem);
  if (privateKey.asymmetricKeyType !== 'x25519')
    throw new SealedBoxError('the key is not an X25519 private key');
  const ephemeralRaw = bytes.subarray(1, 33);
  const ephemeral = createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, ephemeralRaw]),
    format: 'der',
    type: 'spki',
  });
  const key = boxKey(
    diffieHellman({ privateKey, publicKey: ephemeral }),
    ephemeralRaw,
    rawX25519(createPublicKey(privateKey)),
  );
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(33, HEADER));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(HEADER, bytes.length - TAG)), decipher.final()]);
  } catch {
    throw new SealedBoxError('the box does not open with this key (wrong key, wrong deal, or tampered)');
  }
}
