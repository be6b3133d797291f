import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { SIGNATURE_HEADER, signRequest, verifyRequestSignature } from '../../lib/signed-request';

describe('signed requests', () => {
  const party = generateEd25519KeyPair();
  const request = { method: 'POST', url: '/deals', body: '{"a":1}', timestamp: 1_700_000_000_000 };
  const signature = signRequest('buyer', party.privateKeyPem, request)[SIGNATURE_HEADER]!;

  it('verifies for the same method, path, time and body', () => {
    expect(verifyRequestSignature(party.publicKey, request, signature)).toBe(true);
  });

  it('fails for any change, or another key', () => {
    expect(verifyRequestSignature(party.publicKey, { ...request, body: '{"a":2}' }, signature)).toBe(false);
    expect(verifyRequestSignature(party.publicKey, { ...request, url: '/deals?x' }, signature)).toBe(false);
    expect(
      verifyRequestSignature(party.publicKey, { ...request, timestamp: request.timestamp + 1 }, signature),
    ).toBe(false);
    expect(verifyRequestSignature(generateEd25519KeyPair().publicKey, request, signature)).toBe(false);
    expect(verifyRequestSignature(party.publicKey, request, 'not-a-signature')).toBe(false);
  });
});
