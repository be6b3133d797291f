import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildApp } from '../../api/app';
import { redisSeenRequests } from '../../api/seen-requests';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../../lib/ed25519';
import { PartyRegistry, type PartyRole } from '../../lib/parties';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { signRequest } from '../../lib/signed-request';
import { signTerms, withSignedMoney, type TermsBody, type TermsKind } from '../../lib/signed-terms';
import { connectClient } from '../../lib/temporal';
import { freshHistoryCodec } from '../support/history-codec';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { RESEARCH_IN_US, TestSeller } from './harness';

const ROLES: Record<string, PartyRole> = {
  buyer: 'buyer',
  sponsor: 'sponsor',
  auditor: 'auditor',
  compliance: 'compliance',
};
const keys: Record<string, Ed25519KeyPair> = Object.fromEntries(
  Object.keys(ROLES).map((id) => [id, generateEd25519KeyPair()]),
);

type Case = [
  as: string | null,
  method: 'GET' | 'POST',
  url: string,
  body: unknown,
  status: number,
  code: string,
];

describe('every lifecycle endpoint answers bad input with 4xx and a reason', () => {
  let app: FastifyInstance;
  let temporal: Client;
  let home: string;
  let template: QueryTemplate;
  let redis: Redis;
  // The API accepts each signed request once: identical requests need distinct timestamps.
  let lastTimestamp = 0;
  const timestamp = () => (lastTimestamp = Math.max(Date.now(), lastTimestamp + 1));

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-lifecycle-api-'));
    redis = new Redis(inject('redisUrl'));
    const seller = new TestSeller('seller-lifecycle-api', join(home, 'query-policies'));
    template = await seller.publishDemoTemplate();
    temporal = await connectClient(inject('temporalAddress'), 'default', freshHistoryCodec());
    app = await buildApp({
      temporal,
      parties: new PartyRegistry([
        ...Object.entries(ROLES).map(([id, role]) => ({ id, role, publicKey: keys[id]!.publicKey })),
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

  /** Well formed, so that the checks before the signature's own are what these cases meet. */
  const SIG = 'A'.repeat(86);
  /** A well-formed signed decision (its expiry and signature): the checks before its own come first. */
  const PROOF = { notAfter: Date.now() + 3_600_000, signature: SIG };
  const VIEW = `?notAfter=${PROOF.notAfter}&nonce=${'n'.repeat(16)}&signature=${SIG}`;
  const TERMS: Record<string, TermsKind> = { '/subscriptions': 'subscription', '/grants': 'grant' };
  function send(as: string | null, method: 'GET' | 'POST', url: string, body: unknown) {
    // A create request is signed as terms by whoever sends it, unless the case brings a signature.
    // Its money terms (nonce, fee, expiry, ...) are filled as the SDK fills them, unless the case sets them.
    const kind = TERMS[url];
    const filled =
      kind && typeof body === 'object' && body !== null ? withSignedMoney(kind, body as TermsBody) : body;
    const withTerms =
      as && kind && typeof filled === 'object' && filled !== null && !('termsSignature' in filled)
        ? {
            ...filled,
            termsSignature: signTerms(kind, as, filled as TermsBody, keys[as]!.privateKeyPem).signature,
          }
        : filled;
    const payload = withTerms === undefined ? '' : JSON.stringify(withTerms);
    const signed = as
      ? signRequest(as, keys[as]!.privateKeyPem, { method, url, body: payload, timestamp: timestamp() })
      : {};
    return app.inject({
      method,
      url,
      payload: payload || undefined,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...signed },
    });
  }

  const order = () => ({
    templateId: template.id,
    sellerId: template.seller,
    templateHash: templateHash(template),
    parameters: { min_age: 30, max_age: 50, sex: 'F' },
  });
  const subscription = (changes: object = {}) => ({
    subscriptionId: `sub-${crypto.randomUUID()}`,
    queries: [order()],
    pricePerPeriod: template.price,
    periodSeconds: 86_400,
    buyerPublicKey: generateX25519KeyPair().publicKey,
    compliance: RESEARCH_IN_US,
    ...changes,
  });
  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
  const milestone = (changes: object = {}) => ({
    milestoneId: 'enrolled',
    name: 'enrolled',
    amount: '100',
    deadline: inAnHour(),
    check: { kind: 'query', ...order(), metric: 'patients', threshold: 1000 },
    ...changes,
  });
  const grant = (changes: object = {}) => ({
    grantId: `grant-${crypto.randomUUID()}`,
    granteeId: 'buyer',
    milestones: [milestone()],
    ...changes,
  });

  // Built per test: the template exists only once beforeAll has run.
  const cases = (): Record<string, Case[]> => ({
    subscriptions: [
      ['buyer', 'POST', '/subscriptions', { ...subscription(), periodSeconds: 0 }, 400, 'invalid_request'],
      ['buyer', 'POST', '/subscriptions', { ...subscription(), queries: [] }, 400, 'invalid_request'],
      ['buyer', 'POST', '/subscriptions', { ...subscription(), plan: 'gold' }, 400, 'invalid_request'],
      ['sponsor', 'POST', '/subscriptions', subscription(), 403, 'forbidden'],
      ['buyer', 'POST', '/subscriptions', subscription({ periodSeconds: 60 }), 422, 'invalid_terms'],
      ['buyer', 'POST', '/subscriptions', subscription({ pricePerPeriod: '1' }), 422, 'price_mismatch'],
      [
        'buyer',
        'POST',
        '/subscriptions',
        subscription({ termsSignature: 'A'.repeat(86) }),
        422,
        'terms_signature_invalid',
      ],
      [
        'buyer',
        'POST',
        '/subscriptions',
        subscription({ queries: [{ ...order(), templateId: 'nope' }] }),
        422,
        'unknown_template',
      ],
      ['buyer', 'GET', '/subscriptions/x', undefined, 400, 'invalid_request'],
      ['buyer', 'GET', '/subscriptions/no-such-sub', undefined, 404, 'not_found'],
      // A cancel is a signed decision: without its signature the body itself is refused.
      ['buyer', 'POST', '/subscriptions/no-such-sub/cancel', undefined, 400, 'invalid_request'],
      ['buyer', 'POST', '/subscriptions/no-such-sub/cancel', PROOF, 404, 'not_found'],
      // So is a payment report, signed with the period in grace.
      ['buyer', 'POST', '/subscriptions/no-such-sub/payment-ready', undefined, 400, 'invalid_request'],
      [
        'buyer',
        'POST',
        '/subscriptions/no-such-sub/payment-ready',
        { period: 1, ...PROOF },
        404,
        'not_found',
      ],
      ['buyer', 'GET', '/subscriptions/no-such-sub/token', undefined, 404, 'not_found'],
      ['buyer', 'GET', '/subscriptions/no-such-sub/deliveries/first', undefined, 400, 'invalid_request'],
      ['buyer', 'GET', '/subscriptions/no-such-sub/deliveries/0', undefined, 400, 'invalid_request'],
    ],
    grants: [
      ['buyer', 'POST', '/grants', grant(), 403, 'forbidden'],
      ['sponsor', 'POST', '/grants', { ...grant(), milestones: [] }, 400, 'invalid_request'],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({ milestones: [milestone({ deadline: 'next week' })] }),
        400,
        'invalid_request',
      ],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({ milestones: [milestone({ amount: '0' })] }),
        400,
        'invalid_request',
      ],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({ milestones: [milestone({ check: { kind: 'vibes' } })] }),
        400,
        'invalid_request',
      ],
      ['sponsor', 'POST', '/grants', grant({ granteeId: 'nobody' }), 422, 'invalid_terms'],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({ termsSignature: 'A'.repeat(86) }),
        422,
        'terms_signature_invalid',
      ],
      ['sponsor', 'POST', '/grants', grant({ granteeId: 'auditor' }), 422, 'invalid_terms'],
      ['sponsor', 'POST', '/grants', grant({ milestones: [milestone(), milestone()] }), 422, 'invalid_terms'],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({ milestones: [milestone({ deadline: new Date(Date.now() - 1000).toISOString() })] }),
        422,
        'invalid_terms',
      ],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({
          milestones: [milestone({ check: { kind: 'query', ...order(), metric: 'income', threshold: 1 } })],
        }),
        422,
        'invalid_terms',
      ],
      [
        'sponsor',
        'POST',
        '/grants',
        grant({
          milestones: [
            milestone({
              check: { kind: 'query', ...order(), templateId: 'nope', metric: 'patients', threshold: 1 },
            }),
          ],
        }),
        422,
        'unknown_template',
      ],
      ['sponsor', 'GET', '/grants/no-such-grant', undefined, 404, 'not_found'],
      [null, 'GET', '/public/grants/no-such-grant/progress', undefined, 404, 'not_found'],
      [null, 'GET', '/public/grants/x/progress', undefined, 400, 'invalid_request'],
      [
        'buyer',
        'POST',
        '/grants/no-such-grant/milestones/enrolled/evidence',
        { evidence: '' },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/grants/no-such-grant/milestones/Enrolled/evidence',
        { evidence: 'log' },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/grants/no-such-grant/milestones/enrolled/evidence',
        { evidence: 'log', ...PROOF },
        404,
        'not_found',
      ],
      ['sponsor', 'POST', '/grants/no-such-grant/milestones/enrolled/approve', PROOF, 404, 'not_found'],
      [
        'sponsor',
        'POST',
        '/grants/no-such-grant/milestones/enrolled/approve',
        undefined,
        400,
        'invalid_request',
      ],
      [
        'sponsor',
        'POST',
        '/grants/no-such-grant/milestones/enrolled/extend',
        { deadline: 'soon' },
        400,
        'invalid_request',
      ],
      [
        'sponsor',
        'POST',
        '/grants/no-such-grant/milestones/enrolled/extend',
        { deadline: inAnHour(), ...PROOF },
        404,
        'not_found',
      ],
    ],
    disputes: [
      ['buyer', 'POST', '/deals/no-such-deal/dispute', {}, 400, 'invalid_request'],
      ['buyer', 'POST', '/deals/no-such-deal/dispute', { reason: 'empty table' }, 400, 'invalid_request'],
      ['buyer', 'POST', '/deals/no-such-deal/dispute', { reason: 'empty table', ...PROOF }, 404, 'not_found'],
      ['buyer', 'GET', '/deals/no-such-deal/dispute', undefined, 404, 'not_found'],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/reviewer',
        { reviewerId: 'Not An Id' },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/deals/no-such-deal/dispute/reviewer',
        { reviewerId: 'auditor', ...PROOF },
        403,
        'forbidden',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/reviewer',
        { reviewerId: 'buyer', ...PROOF },
        422,
        'invalid_terms',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/reviewer',
        { reviewerId: 'auditor', ...PROOF },
        404,
        'not_found',
      ],
      [
        'buyer',
        'POST',
        '/deals/no-such-deal/dispute/evidence',
        { evidence: 'x'.repeat(40_000) },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/deals/no-such-deal/dispute/evidence',
        { evidence: 'log', ...PROOF },
        404,
        'not_found',
      ],
      ['buyer', 'POST', '/deals/no-such-deal/dispute/evidence', { evidence: 'log' }, 400, 'invalid_request'],
      ['buyer', 'POST', '/deals/no-such-deal/dispute/concede', {}, 400, 'invalid_request'],
      [
        'buyer',
        'POST',
        '/deals/no-such-deal/dispute/concede',
        { ...PROOF, extra: 1 },
        400,
        'invalid_request',
      ],
      ['buyer', 'POST', '/deals/no-such-deal/dispute/concede', PROOF, 403, 'forbidden'],
      ['auditor', 'GET', `/deals/no-such-deal/dispute/evidence${VIEW}`, undefined, 404, 'not_found'],
      ['auditor', 'GET', '/deals/no-such-deal/dispute/evidence', undefined, 400, 'invalid_request'],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'split' }, ...PROOF },
        400,
        'invalid_request',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'split', sellerBps: 10_001 }, ...PROOF },
        400,
        'invalid_request',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'keep' }, ...PROOF },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'refund' }, ...PROOF },
        403,
        'forbidden',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'refund' }, ...PROOF },
        404,
        'not_found',
      ],
      [
        'compliance',
        'POST',
        '/deals/no-such-deal/dispute/approvals',
        { outcome: { kind: 'refund' } },
        400,
        'invalid_request',
      ],
    ],
    disclosures: [
      [
        'buyer',
        'POST',
        '/disclosures',
        { disclosureId: 'disc-1', dealId: 'd-1', reason: 'a good reason' },
        403,
        'forbidden',
      ],
      [
        'auditor',
        'POST',
        '/disclosures',
        { disclosureId: 'disc-1', dealId: 'd-1', reason: 'why' },
        400,
        'invalid_request',
      ],
      [
        'auditor',
        'POST',
        '/disclosures',
        { disclosureId: 'disc-1', dealId: 'd-1', reason: 'a good reason', fields: ['ssn'] },
        400,
        'invalid_request',
      ],
      [
        'auditor',
        'POST',
        '/disclosures',
        { disclosureId: 'disc-1', dealId: 'no-such-deal', reason: 'a good reason' },
        404,
        'not_found',
      ],
      ['auditor', 'GET', '/disclosures/no-such-disclosure', undefined, 404, 'not_found'],
      [
        'compliance',
        'POST',
        '/disclosures/no-such-disclosure/decisions',
        { decision: 'maybe', ...PROOF },
        400,
        'invalid_request',
      ],
      [
        'buyer',
        'POST',
        '/disclosures/no-such-disclosure/decisions',
        { decision: 'approve', ...PROOF },
        403,
        'forbidden',
      ],
      [
        'compliance',
        'POST',
        '/disclosures/no-such-disclosure/decisions',
        { decision: 'approve', ...PROOF },
        404,
        'not_found',
      ],
      [
        'compliance',
        'POST',
        '/disclosures/no-such-disclosure/decisions',
        { decision: 'approve' },
        400,
        'invalid_request',
      ],
      ['auditor', 'GET', `/disclosures/no-such-disclosure/view${VIEW}`, undefined, 404, 'not_found'],
      ['auditor', 'GET', '/disclosures/no-such-disclosure/view', undefined, 400, 'invalid_request'],
    ],
  });

  for (const resource of ['subscriptions', 'grants', 'disputes', 'disclosures']) {
    it(`${resource}: each bad request is a 4xx with its code and a reason`, async () => {
      for (const [as, method, url, body, status, code] of cases()[resource]!) {
        const response = await send(as, method, url, body);
        const answer = response.json<{ code: string; reason: string }>();
        expect({ as, method, url, status: response.statusCode, code: answer.code }).toEqual({
          as,
          method,
          url,
          status,
          code,
        });
        expect(answer.reason.length).toBeGreaterThan(5);
      }
    });
  }

  it('the OpenAPI document lists the lifecycle routes', async () => {
    const openapi = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/subscriptions',
        '/subscriptions/{subscriptionId}/deliveries/{period}',
        '/grants',
        '/public/grants/{grantId}/progress',
        '/grants/{grantId}/milestones/{milestoneId}/evidence',
        '/deals/{dealId}/dispute',
        '/deals/{dealId}/dispute/approvals',
        '/disclosures',
        '/disclosures/{disclosureId}/view',
      ]),
    );
  });
});
