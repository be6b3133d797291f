import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { contentDigest, signRequest, verifyRequest, type ReceivedRequest } from '../../lib/signed-request';

describe('signed requests (RFC 9421)', () => {
  const party = generateEd25519KeyPair();
  const now = 1_700_000_000_000;
  const request = { method: 'POST', url: '/deals?x=1', body: '{"a":1}', timestamp: now };
  const received = (change: Partial<ReceivedRequest> = {}): ReceivedRequest => ({
    ...request,
    headers: signRequest('buyer', party.privateKeyPem, request),
    ...change,
  });
  const keys = (id: string) => (id === 'buyer' ? [party.publicKey] : []);

  it('verifies for the same method, path, query and body, naming the party and its key', async () => {
    const verdict = await verifyRequest(received(), keys, now);
    expect(verdict).toMatchObject({ ok: true, partyId: 'buyer', publicKey: party.publicKey });
  });

  it('is the RFC 9421 signature base, verifiable without this code', () => {
    const headers = signRequest('buyer', party.privateKeyPem, { ...request, nonce: 'n1' });
    expect(headers['content-digest']).toBe(contentDigest('{"a":1}'));
    expect(headers['signature-input']).toBe(
      'tusk=("@method" "@path" "@query" "content-digest");created=1700000000;keyid="buyer";nonce="n1";alg="ed25519"',
    );
    // RFC 9421 §2.5: one line per component, then @signature-params.
    const base = [
      '"@method": POST',
      '"@path": /deals',
      '"@query": ?x=1',
      `"content-digest": ${headers['content-digest']}`,
      `"@signature-params": ${headers['signature-input']!.slice('tusk='.length)}`,
    ].join('\n');
    const signature = Buffer.from(/^tusk=:(.*):$/.exec(headers.signature!)![1]!, 'base64');
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      Buffer.from(party.publicKey, 'base64url'),
    ]);
    expect(
      verify(null, Buffer.from(base), createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature),
    ).toBe(true);
  });

  it('refuses another body, path, method or key, and a body that is not its digest', async () => {
    expect(await verifyRequest(received({ body: '{"a":2}' }), keys, now)).toMatchObject({
      problem: 'digest',
    });
    expect(await verifyRequest(received({ url: '/deals?x=2' }), keys, now)).toMatchObject({
      problem: 'signature',
    });
    expect(await verifyRequest(received({ method: 'PUT' }), keys, now)).toMatchObject({
      problem: 'signature',
    });
    expect(await verifyRequest(received(), () => [generateEd25519KeyPair().publicKey], now)).toMatchObject({
      problem: 'signature',
    });
    expect(await verifyRequest(received(), () => [], now)).toMatchObject({ problem: 'signature' });
  });

  it('refuses a signature older or newer than five minutes, and a request without one', async () => {
    expect(await verifyRequest(received(), keys, now + 5 * 60_000 + 1000)).toMatchObject({
      problem: 'stale',
    });
    expect(await verifyRequest(received(), keys, now - 5 * 60_000 - 1000)).toMatchObject({
      problem: 'stale',
    });
    expect(await verifyRequest(received(), keys, now + 4 * 60_000)).toMatchObject({ ok: true });
    expect(await verifyRequest(received({ headers: {} }), keys, now)).toMatchObject({ problem: 'unsigned' });
  });

  it('gives two signings of one request distinct digests (the nonce), and one signing one digest', async () => {
    const first = await verifyRequest(received(), keys, now);
    const again = await verifyRequest(received(), keys, now);
    const headers = signRequest('buyer', party.privateKeyPem, request);
    const same = await verifyRequest({ ...request, headers }, keys, now);
    const sameAgain = await verifyRequest({ ...request, headers: { ...headers } }, keys, now);
    expect(first.ok && again.ok && first.digest !== again.digest).toBe(true);
    expect(same.ok && sameAgain.ok && same.digest === sameAgain.digest).toBe(true);
  });
});
