import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

/**
 * Sealed box: anyone can encrypt to a recipient's X25519 public key; only the recipient can open it.
 *
 * Since version 2 a box is HPKE (RFC 9180) in base mode, DHKEM(X25519, HKDF-SHA256) with
 * HKDF-SHA256 and AES-256-GCM, from the maintained `@hpke/core`, so any RFC 9180 implementation
 * (a browser, another language) opens it. Layout: version (1) | enc (32) | ciphertext and tag.
 * The HPKE `info` names the format; the `context` (say, the deal id) is the AEAD's associated data:
 * authenticated, not encrypted, so a box cannot be replayed as another deal's.
 *
 * Version 1 boxes (X25519 + HKDF + AES-GCM of Tusk's own) are still opened, never written.
 */
const VERSION = 2;
const ENC_BYTES = 32;
const TAG = 16;
const HPKE_INFO = new TextEncoder().encode('tusk sealed box v2');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

export interface X25519KeyPair {
  /** base64url of the raw 32-byte public key. */
  publicKey: string;
  /** PKCS#8 PEM: never leaves its owner. */
  privateKeyPem: string;
}

export class SealedBoxError extends Error {
  override name = 'SealedBoxError';
}

/** A copy in an ArrayBuffer of its own, as WebCrypto takes it. */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

export function generateX25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: rawX25519(publicKey).toString('base64url'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function x25519PublicKey(rawBase64Url: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, rawPublicKey(rawBase64Url)]),
    format: 'der',
    type: 'spki',
  });
}

function rawPublicKey(rawBase64Url: string): Buffer {
  const raw = Buffer.from(rawBase64Url, 'base64url');
  if (raw.length !== 32) throw new SealedBoxError('an X25519 public key is 32 bytes (base64url)');
  return raw;
}

function rawX25519(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length);
}

function x25519PrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new SealedBoxError('the key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'x25519') throw new SealedBoxError('the key is not an X25519 private key');
  return key;
}

export async function seal(
  plaintext: Uint8Array,
  recipientPublicKey: string,
  context: string,
): Promise<Buffer> {
  const recipient = await suite.kem.importKey('raw', arrayBufferOf(rawPublicKey(recipientPublicKey)), true);
  const { enc, ct } = await suite.seal(
    { recipientPublicKey: recipient, info: HPKE_INFO },
    plaintext,
    new TextEncoder().encode(context),
  );
  return Buffer.concat([Buffer.from([VERSION]), Buffer.from(enc), Buffer.from(ct)]);
}

export async function open(
  box: Uint8Array,
  recipientPrivateKeyPem: string,
  context: string,
): Promise<Buffer> {
  const bytes = Buffer.from(box);
  if (bytes[0] === 1) return openVersion1(bytes, recipientPrivateKeyPem, context);
  if (bytes.length < 1 + ENC_BYTES + TAG || bytes[0] !== VERSION)
    throw new SealedBoxError('not a Tusk sealed box');
  const jwk = x25519PrivateKey(recipientPrivateKeyPem).export({ format: 'jwk' });
  const recipientKey = await suite.kem.importKey('jwk', jwk, false);
  try {
    const plaintext = await suite.open(
      { recipientKey, enc: arrayBufferOf(bytes.subarray(1, 1 + ENC_BYTES)), info: HPKE_INFO },
      arrayBufferOf(bytes.subarray(1 + ENC_BYTES)),
      new TextEncoder().encode(context),
    );
    return Buffer.from(plaintext);
  } catch {
    throw new SealedBoxError('the box does not open with this key (wrong key, wrong deal, or tampered)');
  }
}

/** Reader for version 1 boxes: version | ephemeral key (32) | nonce (12) | ciphertext | tag (16). */
function openVersion1(bytes: Buffer, recipientPrivateKeyPem: string, context: string): Buffer {
  const header = 1 + 32 + 12;
  if (bytes.length < header + TAG) throw new SealedBoxError('not a Tusk sealed box');
  const privateKey = x25519PrivateKey(recipientPrivateKeyPem);
  const ephemeralRaw = bytes.subarray(1, 33);
  const ephemeral = createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, ephemeralRaw]),
    format: 'der',
    type: 'spki',
  });
  const shared = diffieHellman({ privateKey, publicKey: ephemeral });
  const salt = Buffer.concat([ephemeralRaw, rawX25519(createPublicKey(privateKey))]);
  const key = Buffer.from(hkdfSync('sha256', shared, salt, Buffer.from('tusk sealed box v1'), 32));
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(33, header));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(header, bytes.length - TAG)), decipher.final()]);
  } catch {
    throw new SealedBoxError('the box does not open with this key (wrong key, wrong deal, or tampered)');
  }
}
