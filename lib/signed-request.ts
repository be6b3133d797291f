import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { createSignatureSync, isSignatureError, verifySignature, type Verifier } from 'http-message-sig';
import { canonicalJson } from './canonical-json';
import { verifyEd25519 } from './ed25519';

/**
 * API requests are signed as RFC 9421 HTTP Message Signatures (with `http-message-sig`), so any
 * client that speaks the RFC signs them: Ed25519 over the method, path, query and the body's
 * RFC 9530 `Content-Digest`, with `created`, a fresh `nonce`, `keyid` (the party id) and `alg`.
 */
export const SIGNATURE_LABEL = 'tusk';
export const SIGNATURE_HEADER = 'signature';
export const SIGNATURE_INPUT_HEADER = 'signature-input';
export const CONTENT_DIGEST_HEADER = 'content-digest';
export const SIGNED_COMPONENTS = ['@method', '@path', '@query', CONTENT_DIGEST_HEADER] as const;
export const REQUIRED_PARAMETERS = ['created', 'keyid', 'nonce', 'alg'] as const;

/** How far a request's `created` may be from the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The origin a path is read against: only `@path` and `@query` are signed, never the authority. */
const ANY_ORIGIN = 'http://tusk.invalid';

export interface RequestToSign {
  method: string;
  /** Path with query string, as sent. */
  url: string;
  /** The exact body bytes, whatever the content type; empty for a request without a body. */
  body: string | Uint8Array;
  /** Unix milliseconds; signed as `created` in whole seconds. */
  timestamp: number;
  /** Makes two requests signed in the same second distinct; random unless given. */
  nonce?: string;
}

/** RFC 9530 `Content-Digest` of the body: `sha-256=:<base64>:`. */
export function contentDigest(body: string | Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

function descriptor(method: string, url: string, headers: Record<string, string>) {
  return {
    kind: 'request' as const,
    method: method.toUpperCase(),
    targetUri: new URL(url, ANY_ORIGIN).href,
    fields: Object.entries(headers).map(([name, value]) => ({ name, value })),
  };
}

/** The headers that sign `request` as `partyId`: `Content-Digest`, `Signature-Input`, `Signature`. */
export function signRequest(
  partyId: string,
  privateKeyPem: string,
  request: RequestToSign,
): Record<string, string> {
  const key = createPrivateKey(privateKeyPem);
  const digest = contentDigest(request.body);
  const { signature, signatureInput } = createSignatureSync(
    descriptor(request.method, request.url, { [CONTENT_DIGEST_HEADER]: digest }),
    {
      label: SIGNATURE_LABEL,
      components: SIGNED_COMPONENTS,
      parameters: {
        created: Math.floor(request.timestamp / 1000),
        keyid: partyId,
        nonce: request.nonce ?? randomBytes(16).toString('base64url'),
        alg: 'ed25519',
      },
      signer: { algorithm: 'ed25519', sign: (data) => sign(null, data, key) },
    },
  );
  return {
    [CONTENT_DIGEST_HEADER]: digest,
    [SIGNATURE_INPUT_HEADER]: signatureInput,
    [SIGNATURE_HEADER]: signature,
  };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  body: string | Uint8Array;
  headers: Record<string, string | string[] | undefined>;
}

export type RequestVerdict =
  | { ok: true; partyId: string; publicKey: string; createdMs: number; digest: string }
  | { ok: false; problem: 'unsigned' | 'stale' | 'digest' | 'signature'; detail: string };

/**
 * Checks a received request's RFC 9421 signature against the keys `keysOf` gives for its `keyid`,
 * and its `Content-Digest` against the exact body bytes. `digest` is what the signature vouches for
 * (party, method, path, body digest and the signature's parameters, canonical), to remember once.
 */
export async function verifyRequest(
  request: ReceivedRequest,
  keysOf: (partyId: string) => string[],
  now: number,
): Promise<RequestVerdict> {
  const headers: Record<string, string> = {};
  for (const name of [SIGNATURE_HEADER, SIGNATURE_INPUT_HEADER, CONTENT_DIGEST_HEADER]) {
    const value = request.headers[name];
    if (typeof value !== 'string')
      return { ok: false, problem: 'unsigned', detail: `the ${name} header is missing` };
    headers[name] = value;
  }
  if (headers[CONTENT_DIGEST_HEADER] !== contentDigest(request.body))
    return { ok: false, problem: 'digest', detail: 'the content-digest is not the body’s sha-256' };
  let signer: string | undefined;
  const verifier = (partyId: string): Verifier => ({
    algorithm: 'ed25519',
    verify: (data, signature) => {
      const base64url = Buffer.from(signature).toString('base64url');
      signer = keysOf(partyId).find((publicKey) => verifyEd25519(publicKey, data, base64url));
      return signer !== undefined;
    },
  });
  try {
    const verified = await verifySignature(descriptor(request.method, request.url, headers), {
      label: SIGNATURE_LABEL,
      policy: {
        algorithms: ['ed25519'],
        requiredComponents: SIGNED_COMPONENTS,
        requiredParameters: REQUIRED_PARAMETERS,
        // The future bound; the past one is checked below, to the same 5 minutes (the library's
        // maxAge would add the skew to it).
        clockSkew: MAX_CLOCK_SKEW_MS / 1000,
        now: Math.floor(now / 1000),
      },
      resolveVerifier: (candidate) => verifier(String(candidate.parameters.keyid)),
    });
    const { parameters } = verified;
    const createdMs = Number(parameters.created) * 1000;
    if (now - createdMs > MAX_CLOCK_SKEW_MS)
      return { ok: false, problem: 'stale', detail: 'the signature was created more than 5 minutes ago' };
    const partyId = String(parameters.keyid);
    const signed = {
      partyId,
      method: request.method.toUpperCase(),
      url: request.url,
      contentDigest: headers[CONTENT_DIGEST_HEADER],
      components: verified.components.map((c) => c.name),
      parameters,
    };
    return {
      ok: true,
      partyId,
      publicKey: signer!,
      createdMs,
      digest: createHash('sha256').update(canonicalJson(signed)).digest('hex'),
    };
  } catch (error) {
    if (!isSignatureError(error)) throw error;
    const stale = /in the future/.test(error.message);
    if (stale) return { ok: false, problem: 'stale', detail: error.message };
    const unsigned =
      error.code === 'MissingField' || error.code === 'MalformedField' || error.code === 'LabelMismatch';
    return { ok: false, problem: unsigned ? 'unsigned' : 'signature', detail: error.message };
  }
}
