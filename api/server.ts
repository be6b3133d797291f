import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { blobStoreFromEnv } from '../lib/blob-store-env';
import { readEnv, tuskHome } from '../lib/env';
import { PartyRegistry } from '../lib/parties';
import { loadHistoryCodec } from '../lib/codec/history-codec';
import { announceReady, runMain } from '../lib/ready';
import { connectClient } from '../lib/temporal';
import { DEFAULT_ACCEPTANCE_TIMEOUT_MS } from '../workflows/deal/state';
import { buildApp } from './app';
import { lifecycleEnv } from './lifecycle-config';
import { redisSeenRequests } from './seen-requests';

runMain('api', async () => {
  const env = readEnv({
    TUSK_API_HOST: z.string().default('127.0.0.1'),
    TUSK_API_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    TUSK_PARTIES_FILE: z.string().optional(),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    TUSK_POLICIES_ROOT: z.string().default('query-policies'),
    TUSK_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(250),
    TUSK_ACCEPTANCE_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_ACCEPTANCE_TIMEOUT_MS),
    ...lifecycleEnv,
    /** Secret path segment of the Web UI's codec endpoint; unset, only signed operator requests decode. */
    TUSK_CODEC_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
    TUSK_CODEC_UI_ORIGIN: z.url().default('http://localhost:8233'),
  });
  const codec = await loadHistoryCodec();
  const temporal = await connectClient(env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE, codec);
  // A request waits at most one retry for Redis; then it is refused (503), never let through unchecked.
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 });
  const app = await buildApp({
    temporal,
    parties: await PartyRegistry.load(resolve(env.TUSK_PARTIES_FILE ?? `${tuskHome()}/parties.json`)),
    blobs: blobStoreFromEnv(env.blobDir),
    seenRequests: redisSeenRequests(redis),
    policiesRoot: resolve(env.TUSK_POLICIES_ROOT),
    deals: {
      feeBps: env.TUSK_FEE_BPS,
      acceptanceTimeoutMs: env.TUSK_ACCEPTANCE_TIMEOUT_MS,
      dispute: {
        reviewerAccessMs: env.TUSK_REVIEWER_ACCESS_MS,
        resolutionTimeoutMs: env.TUSK_DISPUTE_TIMEOUT_MS,
        defaultOutcome: env.TUSK_DISPUTE_DEFAULT,
      },
    },
    lifecycles: {
      minPeriodMs: env.TUSK_MIN_PERIOD_MS,
      subscriptionGraceMs: env.TUSK_SUBSCRIPTION_GRACE_MS,
      periodsPerRun: env.TUSK_PERIODS_PER_RUN,
      disclosureViewMs: env.TUSK_DISCLOSURE_VIEW_MS,
      disclosureApprovalTimeoutMs: env.TUSK_DISCLOSURE_APPROVAL_TIMEOUT_MS,
    },
    logger: true,
    historyCodec: { codec, token: env.TUSK_CODEC_TOKEN, uiOrigin: env.TUSK_CODEC_UI_ORIGIN },
  });
  const address = await app.listen({ host: env.TUSK_API_HOST, port: env.TUSK_API_PORT });
  announceReady('api', address);
  const close = () =>
    void app
      .close()
      .then(() => temporal.connection.close())
      .then(() => redis.quit())
      .finally(() => process.exit(0));
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
});
