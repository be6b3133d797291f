import { createHash } from 'node:crypto';
import { signEd25519, verifyEd25519 } from './ed25519';

/** Headers of a signed API request. */
export const PARTY_HEADER = 'x-tusk-party';
export const TIMESTAMP_HEADER = 'x-tusk-timestamp';
export const SIGNATURE_HEADER = 'x-tusk-signature';

/** How far a request's timestamp may be from the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface RequestToSign {
  method: string;
  /** Path with query string, as sent. */
  url: string;
  /** The exact body bytes, whatever the content type; empty for a request without a body. */
  body: string | Uint8Array;
  timestamp: number;
}

function message(request: RequestToSign): string {
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  return [
    'tusk request v1',
    request.method.toUpperCase(),
    request.url,
    String(request.timestamp),
    bodyHash,
  ].join('\n');
}

export function signRequest(
  partyId: string,
  privateKeyPem: string,
  request: RequestToSign,
): Record<string, string> {
  return {
    [PARTY_HEADER]: partyId,
    [TIMESTAMP_HEADER]: String(request.timestamp),
    [SIGNATURE_HEADER]: signEd25519(privateKeyPem, message(request)),
  };
}

export function verifyRequestSignature(
  publicKey: string,
  request: RequestToSign,
  signature: string,
): boolean {
  return verifyEd25519(publicKey, message(request), signature);
}

/**
 * What a signature vouches for (party, method, path, timestamp, body), as one digest: the API
 * remembers it for the clock-skew window so that the same signed request is accepted once.
 * Keyed on the signed content rather than the signature's text, which has more than one encoding.
 */
export function signedRequestDigest(partyId: string, request: RequestToSign): string {
  return createHash('sha256')
    .update(`${partyId}\n${message(request)}`)
    .digest('hex');
}
