import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { BODY_LIMIT_BYTES, buildApp } from '../../api/app';
import { redisSeenRequests } from '../../api/seen-requests';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { PartyRegistry } from '../../lib/parties';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { signRequest } from '../../lib/signed-request';
import { signTerms, withSignedMoney, type TermsBody } from '../../lib/signed-terms';
import { connectClient } from '../../lib/temporal';
import { freshHistoryCodec } from '../support/history-codec';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { RESEARCH_IN_US, TestSeller } from './harness';

const buyer = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();

describe('the API answers bad input with 4xx and a reason', () => {
  let app: FastifyInstance;
  let temporal: Client;
  let home: string;
  let seller: TestSeller;
  let template: QueryTemplate;
  let redis: Redis;
  // The API accepts each signed request once: identical requests need distinct timestamps.
  let lastTimestamp = 0;
  const timestamp = () => (lastTimestamp = Math.max(Date.now(), lastTimestamp + 1));

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-api-'));
    redis = new Redis(inject('redisUrl'));
    seller = new TestSeller('seller-api', join(home, 'query-policies'));
    template = await seller.publishDemoTemplate();
    temporal = await connectClient(inject('temporalAddress'), 'default', freshHistoryCodec());
    app = await buildApp({
      temporal,
      parties: new PartyRegistry([
        { id: 'buyer-api', role: 'buyer', publicKey: buyer.publicKey },
        { id: seller.id, role: 'seller', publicKey: seller.keys.publicKey },
      ]),
      blobs: new BlobStore(join(home, 'blobs')),
      seenRequests: redisSeenRequests(redis),
      policiesRoot: seller.policiesRoot,
      deals: { feeBps: 250, acceptanceTimeoutMs: 60_000 },
    });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
    await temporal?.connection.close();
    await rm(home, { recursive: true, force: true });
  });

  function send(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    as = { id: 'buyer-api', key: buyer.privateKeyPem },
  ) {
    // A deal's body is signed as its terms by whoever sends it, unless the test brings a signature.
    const signed =
      url === '/deals' && typeof body === 'object' && body !== null && !('termsSignature' in body)
        ? { ...body, termsSignature: signTerms('cohort_query', as.id, body as TermsBody, as.key).signature }
        : body;
    const payload = signed === undefined ? '' : typeof signed === 'string' ? signed : JSON.stringify(signed);
    return app.inject({
      method,
      url,
      payload: payload || undefined,
      headers: {
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...signRequest(as.id, as.key, { method, url, body: payload, timestamp: timestamp() }),
      },
    });
  }

  const validDeal = () =>
    withSignedMoney('cohort_query', {
      dealId: `api-${crypto.randomUUID()}`,
      templateId: template.id,
      sellerId: template.seller,
      templateHash: templateHash(template),
      parameters: { min_age: 30, max_age: 50, sex: 'F' },
      price: template.price,
      buyerPublicKey: generateX25519KeyPair().publicKey,
      compliance: RESEARCH_IN_US,
    });

  it('401 without a signature, with a wrong key, a stale clock, or a body changed after signing', async () => {
    const unsigned = await app.inject({ method: 'GET', url: '/templates' });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json()).toEqual({
      code: 'unauthenticated',
      reason:
        'sign the request (RFC 9421): headers signature-input, signature and content-digest are required',
    });
    const wrongKey = await send('GET', '/templates', undefined, {
      id: 'buyer-api',
      key: stranger.privateKeyPem,
    });
    expect(wrongKey.json()).toEqual({
      code: 'unauthenticated',
      reason: 'the request is not signed by a key registered for this party id (unknown id or wrong key)',
    });
    const unknownParty = await send('GET', '/templates', undefined, {
      id: 'nobody',
      key: stranger.privateKeyPem,
    });
    expect(unknownParty.statusCode).toBe(401);
    expect(unknownParty.json()).toEqual({
      code: 'unauthenticated',
      reason: 'the request is not signed by a key registered for this party id (unknown id or wrong key)',
    });

    const old = Date.now() - 10 * 60 * 1000;
    const stale = await app.inject({
      method: 'GET',
      url: '/templates',
      headers: signRequest('buyer-api', buyer.privateKeyPem, {
        method: 'GET',
        url: '/templates',
        body: '',
        timestamp: old,
      }),
    });
    expect(stale.json()).toEqual({
      code: 'unauthenticated',
      reason: 'the request was signed more than 5 minutes from the server clock',
    });

    const deal = validDeal();
    const termsSignature = signTerms('cohort_query', 'buyer-api', deal, buyer.privateKeyPem).signature;
    const body = JSON.stringify({ ...deal, termsSignature });
    const headers = signRequest('buyer-api', buyer.privateKeyPem, {
      method: 'POST',
      url: '/deals',
      body,
      timestamp: Date.now(),
    });
    const tampered = await app.inject({
      method: 'POST',
      url: '/deals',
      payload: body.replace('"min_age":30', '"min_age":18'),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(body).toContain('"min_age":30');
    expect(tampered.statusCode).toBe(401);
  });

  it('401 for a signed request sent a second time', async () => {
    const headers = signRequest('buyer-api', buyer.privateKeyPem, {
      method: 'GET',
      url: '/templates',
      body: '',
      timestamp: timestamp(),
    });
    const first = await app.inject({ method: 'GET', url: '/templates', headers });
    expect(first.statusCode).toBe(200);
    const replayed = await app.inject({ method: 'GET', url: '/templates', headers });
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json()).toEqual({
      code: 'request_replayed',
      reason: 'this signed request was already accepted once; sign each request afresh with a new nonce',
    });
    // the same request signed afresh is accepted
    expect((await send('GET', '/templates')).statusCode).toBe(200);
  });

  it('415 for a body that is neither JSON nor octet-stream, signed or not', async () => {
    const body = JSON.stringify(validDeal());
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json-patch+json',
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/deals',
        payload: body,
        headers: {
          'content-type': contentType,
          ...signRequest('buyer-api', buyer.privateKeyPem, {
            method: 'POST',
            url: '/deals',
            body,
            timestamp: timestamp(),
          }),
        },
      });
      expect(response.statusCode, contentType).toBe(415);
      expect(response.json()).toEqual({
        code: 'unsupported_media_type',
        reason: `content type ${contentType} is not accepted: send application/json (or application/octet-stream to POST /blobs)`,
      });
    }
  });

  it('400 for a __proto__ key, in parameters or anywhere else', async () => {
    const body = JSON.stringify(validDeal());
    const inParameters = await send(
      'POST',
      '/deals',
      body.replace('"parameters":{', '"parameters":{"__proto__":"x",'),
    );
    expect(inParameters.statusCode).toBe(400);
    expect(inParameters.json()).toEqual({
      code: 'invalid_request',
      reason: 'the body may not hold a key named __proto__',
    });
    const asObject = await send(
      'POST',
      '/deals',
      body.replace('"parameters":{', '"parameters":{"__proto__":{"min_age":1},'),
    );
    expect(asObject.statusCode).toBe(400);
    const atTop = await send('POST', '/deals', body.replace('{', '{"__proto__":{"price":"1"},'));
    expect(atTop.statusCode).toBe(400);
    const inCompliance = await send(
      'POST',
      '/deals',
      body.replace('"compliance":{', '"compliance":{"__proto__":{},'),
    );
    expect(inCompliance.json().code).toBe('invalid_request');
  });

  it('400 for an X25519 key of low order, such as all zeros', async () => {
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      // p - 1 with the top bit set: X25519 ignores that bit
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ];
    for (const hex of lowOrder) {
      const buyerPublicKey = Buffer.from(hex, 'hex').toString('base64url');
      const response = await send('POST', '/deals', { ...validDeal(), buyerPublicKey });
      expect(response.statusCode, hex).toBe(400);
      expect(response.json(), hex).toEqual({
        code: 'invalid_request',
        reason:
          'body.buyerPublicKey: a low-order X25519 point (such as all zeros): no secret can be shared with it',
      });
    }
  });

  it('400 for missing and wrong-typed fields, naming them', async () => {
    const { templateHash: _omitted, ...missing } = validDeal();
    const response = await send('POST', '/deals', missing);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'invalid_request',
      reason: expect.stringContaining('templateHash'),
    });

    const wrongType = await send('POST', '/deals', { ...validDeal(), parameters: 'min_age=30', price: 1000 });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().reason).toMatch(/parameters/);
    expect(wrongType.json().reason).toMatch(/price/);

    const notJson = await send('POST', '/deals', '{"dealId": ');
    expect(notJson.json()).toEqual({ code: 'invalid_request', reason: 'the body is not valid JSON' });

    const extra = await send('POST', '/deals', { ...validDeal(), discount: '100%' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().reason).toMatch(/discount/);
  });

  it('422 for an unknown template, a stale hash, a wrong price or bad parameters', async () => {
    const unknown = await send('POST', '/deals', { ...validDeal(), templateId: 'no-such-template' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toEqual({
      code: 'unknown_template',
      reason: 'no signed template no-such-template is for sale',
    });

    const stale = await send('POST', '/deals', { ...validDeal(), templateHash: `sha256:${'ab'.repeat(32)}` });
    expect(stale.json()).toMatchObject({ code: 'template_hash_mismatch' });

    const cheap = await send('POST', '/deals', { ...validDeal(), price: '1' });
    expect(cheap.json()).toEqual({
      code: 'price_mismatch',
      reason: `template ${template.id} costs ${template.price}`,
    });

    const badParameters = await send('POST', '/deals', {
      ...validDeal(),
      parameters: { min_age: 30, max_age: 500, sex: "F' OR 1=1 --" },
    });
    expect(badParameters.statusCode).toBe(422);
    expect(badParameters.json().code).toBe('invalid_parameters');
    expect(badParameters.json().reason).toMatch(/max_age/);
    expect(badParameters.json().reason).toMatch(/sex/);

    const elsewhere = await send('POST', '/deals', {
      ...validDeal(),
      compliance: { ...RESEARCH_IN_US, jurisdiction: 'CN' },
    });
    expect(elsewhere.statusCode).toBe(422);
    expect(elsewhere.json()).toEqual({
      code: 'compliance_refused',
      reason: 'jurisdiction CN is not allowed (allowed: US, CA, GB, DE, FR)',
    });
    const noCompliance = await send('POST', '/deals', { ...validDeal(), compliance: undefined });
    expect(noCompliance.statusCode).toBe(400);
    expect(noCompliance.json().reason).toMatch(/compliance/);
  });

  it("422 when the terms signature is not the buyer's over exactly these terms", async () => {
    const deal = validDeal();
    const signedOther = signTerms(
      'cohort_query',
      'buyer-api',
      { ...deal, parameters: { ...deal.parameters, min_age: 31 } },
      buyer.privateKeyPem,
    );
    const altered = await send('POST', '/deals', { ...deal, termsSignature: signedOther.signature });
    expect(altered.statusCode).toBe(422);
    expect(altered.json()).toEqual({
      code: 'terms_signature_invalid',
      reason: `termsSignature is not buyer-api's signature of these cohort_query terms (see lib/signed-terms.ts)`,
    });
    const byStranger = signTerms('cohort_query', 'buyer-api', deal, stranger.privateKeyPem);
    const foreign = await send('POST', '/deals', { ...deal, termsSignature: byStranger.signature });
    expect(foreign.json()).toMatchObject({ code: 'terms_signature_invalid' });
    const malformed = await send('POST', '/deals', { ...deal, termsSignature: 'not a signature' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().reason).toMatch(/termsSignature/);
    const started = await temporal.workflow
      .getHandle(deal.dealId)
      .describe()
      .catch(() => undefined);
    expect(started).toBeUndefined();
  });

  it('413 for an oversized body', async () => {
    const response = await send('POST', '/deals', {
      ...validDeal(),
      parameters: { pad: 'x'.repeat(BODY_LIMIT_BYTES) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('body_too_large');
  });

  it('403 for a party without the right, 404 for an unknown deal or route', async () => {
    const sellerBuys = await send('POST', '/deals', validDeal(), {
      id: seller.id,
      key: seller.keys.privateKeyPem,
    });
    expect(sellerBuys.json()).toEqual({
      code: 'forbidden',
      reason: `only a buyer may do this; ${seller.id} is a seller`,
    });
    expect(sellerBuys.statusCode).toBe(403);

    const missing = await send('GET', '/deals/no-such-deal');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'not_found', reason: 'no deal no-such-deal' });
    const proof = { notAfter: Date.now() + 60_000, signature: 'A'.repeat(86) };
    expect((await send('POST', '/deals/no-such-deal/confirm', proof)).statusCode).toBe(404);
    expect((await send('GET', '/nowhere')).json()).toEqual({
      code: 'not_found',
      reason: 'no route GET /nowhere',
    });
  });

  it('health and the OpenAPI document need no signature', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({
      status: 'ok',
      temporal: 'up',
    });
    const openapi = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/deals',
        '/deals/{dealId}',
        '/deals/{dealId}/confirm',
        '/deals/{dealId}/result',
        '/templates',
      ]),
    );
  });
});
