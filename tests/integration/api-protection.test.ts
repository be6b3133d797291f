import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildApp } from '../../api/app';
import { redisSeenRequests } from '../../api/seen-requests';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { PartyRegistry } from '../../lib/parties';
import { signRequest } from '../../lib/signed-request';
import { connectClient } from '../../lib/temporal';
import { freshHistoryCodec } from '../support/history-codec';
import { TestSeller } from './harness';

const LIMIT = 5;
const flooder = { id: `flooder-${Date.now()}`, keys: generateEd25519KeyPair() };
const other = { id: `other-${Date.now()}`, keys: generateEd25519KeyPair() };

/** Two API processes sharing one Redis, as several behind a load balancer would. */
describe('the API limits each party on its own', () => {
  const apps: FastifyInstance[] = [];
  let temporal: Client;
  let redis: Redis;
  let home: string;
  let lastTimestamp = 0;
  const timestamp = () => (lastTimestamp = Math.max(Date.now(), lastTimestamp + 1));

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-limits-'));
    redis = new Redis(inject('redisUrl'));
    const seller = new TestSeller('seller-limits', join(home, 'query-policies'));
    await seller.publishDemoTemplate();
    temporal = await connectClient(inject('temporalAddress'), 'default', freshHistoryCodec());
    for (let i = 0; i < 2; i++)
      apps.push(
        await buildApp({
          temporal,
          parties: new PartyRegistry([
            { id: flooder.id, role: 'buyer', publicKey: flooder.keys.publicKey },
            { id: other.id, role: 'buyer', publicKey: other.keys.publicKey },
            { id: seller.id, role: 'seller', publicKey: seller.keys.publicKey },
          ]),
          blobs: new BlobStore(join(home, 'blobs')),
          seenRequests: redisSeenRequests(redis),
          policiesRoot: seller.policiesRoot,
          deals: { feeBps: 250, acceptanceTimeoutMs: 60_000 },
          rateLimit: { max: LIMIT, windowMs: 60_000, redis },
          loadShedding: { maxEventLoopDelayMs: 1_000, maxEventLoopUtilization: 0.98 },
        }),
      );
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await redis?.quit();
    await temporal?.connection.close();
    await rm(home, { recursive: true, force: true });
  });

  const get = (app: FastifyInstance, as: typeof flooder) =>
    app.inject({
      method: 'GET',
      url: '/templates',
      headers: signRequest(as.id, as.keys.privateKeyPem, {
        method: 'GET',
        url: '/templates',
        body: '',
        timestamp: timestamp(),
      }),
    });

  it('refuses a flood from one party with 429 across both processes, while another party is served', async () => {
    const flood = [];
    for (let i = 0; i < 3 * LIMIT; i++) flood.push(await get(apps[i % 2]!, flooder));
    expect(flood.map((r) => r.statusCode)).toEqual([
      ...Array(LIMIT).fill(200),
      ...Array(2 * LIMIT).fill(429),
    ]);
    expect(flood.at(-1)!.json()).toEqual({
      code: 'rate_limited',
      reason: expect.stringMatching(
        new RegExp(
          `^too many requests from this party: at most ${LIMIT} per 1 minute; retry in (\\d+ seconds?|1 minute)$`,
        ),
      ),
    });
    expect(flood.at(-1)!.headers['retry-after']).toBeDefined();

    const served = [await get(apps[0]!, other), await get(apps[1]!, other)];
    expect(served.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(served[0]!.headers['x-ratelimit-remaining']).toBe(String(LIMIT - 1));
  });

  it('sets security headers on every response', async () => {
    const health = await apps[0]!.inject({ method: 'GET', url: '/health' });
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(health.headers['content-security-policy']).toContain("default-src 'self'");
  });
});
