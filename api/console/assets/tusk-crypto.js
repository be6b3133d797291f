// @ts-check
/**
 * The console's cryptography, in the browser with WebCrypto only: the same request signatures
 * (lib/signed-request.ts), terms and decision signatures (lib/signed-terms.ts,
 * lib/signed-decision.ts) and sealed boxes (lib/sealed-box.ts, RFC 9180 HPKE) as the CLI. Private keys are held as
 * non-extractable CryptoKeys; nothing here sends a key anywhere.
 */
const encoder = new TextEncoder();
const subtle = globalThis.crypto.subtle;

/** @param {Uint8Array} bytes */
export function base64url(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Standard or url-safe base64 to bytes. @param {string} text */
export function fromBase64(text) {
  const plain = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(plain + '='.repeat((4 - (plain.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** @param {ArrayBuffer | Uint8Array} bytes */
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** @param {string | Uint8Array<ArrayBuffer>} data */
export async function sha256Hex(data) {
  return hex(await subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : data));
}

/**
 * RFC 8785 canonical JSON for the plain data the API signs (what lib/canonical-json.ts computes):
 * keys sorted by UTF-16 code unit, no whitespace, numbers and strings as ECMAScript writes them.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('not JSON: ' + value);
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('not JSON: ' + typeof value);
    return text;
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const record = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return '{' + keys.map((key) => JSON.stringify(key) + ':' + canonicalJson(record[key])).join(',') + '}';
}

/** `sha256:<hex>` of canonical JSON, as lib/canonical-json.ts's canonicalHash. @param {unknown} value */
export const canonicalHash = async (value) => 'sha256:' + (await sha256Hex(canonicalJson(value)));

export class KeyFileError extends Error {
  name = 'KeyFileError';
}

/** The DER inside a PKCS#8 PEM (what `tusk ... keygen` writes). @param {string} pem */
function pkcs8Der(pem) {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new KeyFileError('not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)');
  return fromBase64((match[1] ?? '').replace(/\s+/g, ''));
}

/**
 * @typedef {{ privateKey: CryptoKey, publicKey: string }} HeldKey
 * A non-extractable private key and its raw public key (base64url), as the API names keys.
 */

/**
 * Imports a PKCS#8 key file as a non-extractable key. WebCrypto cannot derive a public key from a
 * non-extractable private one, so the file is read once as an extractable key for its public half
 * (JWK `x`), which is all that is kept of that copy.
 * @param {string} pem
 * @param {'Ed25519' | 'X25519'} algorithm
 * @returns {Promise<HeldKey>}
 */
export async function importKeyFile(pem, algorithm) {
  const der = pkcs8Der(pem);
  /** @type {KeyUsage[]} */
  const usages = algorithm === 'Ed25519' ? ['sign'] : ['deriveBits'];
  try {
    const readable = await subtle.importKey('pkcs8', der, { name: algorithm }, true, usages);
    const { x } = await subtle.exportKey('jwk', readable);
    const privateKey = await subtle.importKey('pkcs8', der, { name: algorithm }, false, usages);
    if (!x) throw new Error('no public key');
    return { privateKey, publicKey: x };
  } catch {
    throw new KeyFileError(`this file is not an ${algorithm} private key`);
  }
}

/**
 * A new key pair made here: the held key (non-extractable) and its PKCS#8 PEM, for the person to
 * download and keep (the same file `tusk ... keygen` writes).
 * @param {'Ed25519' | 'X25519'} algorithm
 */
export async function generateKeyFile(algorithm) {
  const usages = /** @type {KeyUsage[]} */ (algorithm === 'Ed25519' ? ['sign', 'verify'] : ['deriveBits']);
  const pair = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: algorithm }, true, usages));
  const der = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
  const lines = btoa(String.fromCharCode(...der)).match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { pem, held: await importKeyFile(pem, algorithm) };
}

/** base64url Ed25519 signature of a text. @param {CryptoKey} key @param {string} text */
export async function signText(key, text) {
  return base64url(new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, encoder.encode(text))));
}

/** Standard base64 with padding. @param {Uint8Array} bytes */
const base64 = (bytes) => btoa(String.fromCharCode(...bytes));

/**
 * The headers of a signed API request (lib/signed-request.ts): an RFC 9421 HTTP Message Signature,
 * Ed25519 over the method, path, query and the body's RFC 9530 Content-Digest, with created, keyid
 * (the party id), a fresh nonce and alg.
 * @param {string} partyId @param {CryptoKey} key
 * @param {{ method: string, url: string, body: string, timestamp: number, nonce?: string }} request
 */
export async function signRequest(partyId, key, request) {
  const target = new URL(request.url, 'http://tusk.invalid');
  const digest = `sha-256=:${base64(new Uint8Array(await subtle.digest('SHA-256', encoder.encode(request.body))))}:`;
  const nonce = request.nonce ?? base64url(crypto.getRandomValues(new Uint8Array(16)));
  const params =
    '("@method" "@path" "@query" "content-digest")' +
    `;created=${Math.floor(request.timestamp / 1000)};keyid=${JSON.stringify(partyId)};nonce=${JSON.stringify(nonce)};alg="ed25519"`;
  const base = [
    `"@method": ${request.method.toUpperCase()}`,
    `"@path": ${target.pathname}`,
    `"@query": ${target.search || '?'}`,
    `"content-digest": ${digest}`,
    `"@signature-params": ${params}`,
  ].join('\n');
  const signature = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, encoder.encode(base)));
  return {
    'content-digest': digest,
    'signature-input': `tusk=${params}`,
    signature: `tusk=:${base64(signature)}:`,
  };
}

/** The blob reference of a result key, as lib/signed-terms.ts's x25519KeyRef. @param {string} publicKey */
export const x25519KeyRef = async (publicKey) =>
  'sha256:' + (await sha256Hex(canonicalJson({ kind: 'x25519', publicKey })));

/**
 * What is signed of a create request (lib/signed-terms.ts's termsBodyOf): the buyer's result key
 * replaced by its blob reference.
 * @param {Record<string, unknown>} requestBody
 */
export async function termsBodyOf(requestBody) {
  const { buyerPublicKey, ...rest } = requestBody;
  return typeof buyerPublicKey === 'string'
    ? { ...rest, resultKeyRef: await x25519KeyRef(buyerPublicKey) }
    : requestBody;
}

/**
 * The signature over a create request's body as terms (lib/signed-terms.ts's signTerms).
 * @param {string} kind @param {string} signer @param {HeldKey} key @param {Record<string, unknown>} requestBody
 */
export async function signTerms(kind, signer, key, requestBody) {
  const body = await termsBodyOf(requestBody);
  const message = 'tusk terms v1\n' + canonicalJson({ kind, signer, publicKey: key.publicKey, body });
  return signText(key.privateKey, message);
}

/**
 * The hash that names a signed create request's terms, signature included (lib/signed-terms.ts's
 * termsHashOf): what a deal's scope and its seller's release statement must name.
 * @param {string} kind @param {string} signer @param {string} publicKey
 * @param {Record<string, unknown>} signedRequest the request body with its `termsSignature`
 */
export async function termsHashOf(kind, signer, publicKey, signedRequest) {
  const { termsSignature, ...requestBody } = signedRequest;
  const body = await termsBodyOf(requestBody);
  return canonicalHash({ kind, signer, publicKey, body, signature: termsSignature });
}

/**
 * A signed decision (lib/signed-decision.ts) over a lifecycle's scope, valid for ten minutes.
 * @param {CryptoKey} key @param {Record<string, unknown>} scope @param {string} action
 * @param {string} principal @param {unknown} content
 */
export async function signDecision(key, scope, action, principal, content, ttlMs = 10 * 60 * 1000) {
  const notAfter = Date.now() + ttlMs;
  const statement = { ...scope, action, principal, content, notAfter };
  return { notAfter, signature: await signText(key, 'tusk decision v2\n' + canonicalJson(statement)) };
}

export class SealedBoxError extends Error {
  name = 'SealedBoxError';
}

/** @param {Uint8Array[]} parts */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** HMAC-SHA256; an empty key is HMAC's all-zero key (RFC 5869's default salt). @param {Uint8Array<ArrayBuffer>} key @param {Uint8Array<ArrayBuffer>} data */
async function hmac(key, data) {
  const material = key.length > 0 ? key : new Uint8Array(32);
  const hmacKey = await subtle.importKey('raw', material, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', hmacKey, data));
}

/**
 * RFC 9180's labelled HKDF-SHA256 for one suite: LabeledExtract, and LabeledExpand for at most 32 bytes.
 * @param {Uint8Array<ArrayBuffer>} suiteId
 */
function labelled(suiteId) {
  const prefix = (/** @type {string} */ label) =>
    concat(encoder.encode('HPKE-v1'), suiteId, encoder.encode(label));
  return {
    extract: (
      /** @type {Uint8Array<ArrayBuffer>} */ salt,
      /** @type {string} */ label,
      /** @type {Uint8Array<ArrayBuffer>} */ ikm,
    ) => hmac(salt, concat(prefix(label), ikm)),
    expand: async (
      /** @type {Uint8Array<ArrayBuffer>} */ prk,
      /** @type {string} */ label,
      /** @type {Uint8Array<ArrayBuffer>} */ info,
      /** @type {number} */ length,
    ) =>
      (await hmac(prk, concat(Uint8Array.of(0, length), prefix(label), info, Uint8Array.of(1)))).slice(
        0,
        length,
      ),
  };
}

const KEM = labelled(concat(encoder.encode('KEM'), Uint8Array.of(0x00, 0x20)));
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM: the suite lib/sealed-box.ts seals with.
const SUITE = labelled(concat(encoder.encode('HPKE'), Uint8Array.of(0x00, 0x20, 0x00, 0x01, 0x00, 0x02)));
const EMPTY = new Uint8Array(0);

/**
 * HPKE base-mode key schedule (RFC 9180 §4.1, §5.1) of the first message under `info`: the key and
 * nonce, from the X25519 shared secret of the ephemeral key `enc` and the recipient's public key.
 * @param {Uint8Array<ArrayBuffer>} dh @param {Uint8Array<ArrayBuffer>} enc
 * @param {Uint8Array<ArrayBuffer>} recipientPublic @param {Uint8Array<ArrayBuffer>} info
 */
async function hpkeKey(dh, enc, recipientPublic, info) {
  const kemContext = concat(enc, recipientPublic);
  const sharedSecret = await KEM.expand(
    await KEM.extract(EMPTY, 'eae_prk', dh),
    'shared_secret',
    kemContext,
    32,
  );
  const context = concat(
    Uint8Array.of(0),
    await SUITE.extract(EMPTY, 'psk_id_hash', EMPTY),
    await SUITE.extract(EMPTY, 'info_hash', info),
  );
  const secret = await SUITE.extract(sharedSecret, 'secret', EMPTY);
  return {
    key: await SUITE.expand(secret, 'key', context, 32),
    nonce: await SUITE.expand(secret, 'base_nonce', context, 12),
  };
}

const SEALED_BOX_INFO = encoder.encode('tusk sealed box v2');

/**
 * Seals bytes to an X25519 public key (base64url) as lib/sealed-box.ts's seal: HPKE base mode with a
 * fresh ephemeral key, the context as associated data. Layout: version (1) | enc (32) | ciphertext and tag.
 * @param {Uint8Array<ArrayBuffer>} plaintext @param {string} recipientPublicKey @param {string} context
 */
export async function sealBox(plaintext, recipientPublicKey, context) {
  const recipientPublic = fromBase64(recipientPublicKey);
  if (recipientPublic.length !== 32) throw new SealedBoxError('an X25519 public key is 32 bytes (base64url)');
  const recipient = await subtle.importKey('raw', recipientPublic, { name: 'X25519' }, false, []);
  const ephemeral = /** @type {CryptoKeyPair} */ (
    await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])
  );
  const enc = new Uint8Array(await subtle.exportKey('raw', ephemeral.publicKey));
  const dh = new Uint8Array(
    await subtle.deriveBits({ name: 'X25519', public: recipient }, ephemeral.privateKey, 256),
  );
  const { key, nonce } = await hpkeKey(dh, enc, recipientPublic, SEALED_BOX_INFO);
  const aes = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const ciphertext = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(context) },
    aes,
    plaintext,
  );
  return concat(Uint8Array.of(2), enc, new Uint8Array(ciphertext));
}

/**
 * Opens a sealed box (lib/sealed-box.ts, version 2): HPKE base mode with DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256 and AES-256-GCM, info "tusk sealed box v2", the context as associated data.
 * Layout: version (1) | enc (32) | ciphertext and tag.
 * @param {Uint8Array<ArrayBuffer>} box @param {HeldKey} recipient @param {string} context
 */
export async function openSealedBox(box, recipient, context) {
  if (box.length < 1 + 32 + 16 || box[0] !== 2) throw new SealedBoxError('not a Tusk sealed box');
  const enc = box.slice(1, 33);
  const ephemeral = await subtle.importKey('raw', enc, { name: 'X25519' }, true, []);
  const dh = new Uint8Array(
    await subtle.deriveBits({ name: 'X25519', public: ephemeral }, recipient.privateKey, 256),
  );
  const { key, nonce } = await hpkeKey(dh, enc, fromBase64(recipient.publicKey), SEALED_BOX_INFO);
  const aes = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
  try {
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(context) },
      aes,
      box.slice(33),
    );
    return new Uint8Array(plain);
  } catch {
    throw new SealedBoxError('the box does not open with this key (wrong key, wrong deal, or tampered)');
  }
}

/**
 * A deal's sealed table, opened and checked against the commitment its status recorded
 * (lib/sealed-result.ts's openResult).
 * @param {{ dealId: string, ciphertext: string, commitment?: string }} sealed @param {HeldKey} resultKey
 */
export async function openDealResult(sealed, resultKey) {
  const bytes = await openSealedBox(fromBase64(sealed.ciphertext), resultKey, `tusk result ${sealed.dealId}`);
  const payload = JSON.parse(new TextDecoder().decode(bytes));
  if (payload.dealId !== sealed.dealId)
    throw new SealedBoxError(`the result is for deal ${payload.dealId}, not ${sealed.dealId}`);
  if (sealed.commitment !== undefined && (await canonicalHash(payload)) !== sealed.commitment)
    throw new SealedBoxError('the result does not match the commitment recorded for the deal');
  return payload;
}
