import { resolve } from 'node:path';
import { DEFAULT_FEE_BPS } from '../lib/signed-terms';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { blobStoreFromEnv } from '../lib/blob-store-env';
import { catalogRoot, readEnv, tuskHome } from '../lib/env';
import { ReloadingPartyRegistry } from '../lib/parties';
import { TuskMetrics } from '../lib/observability/metrics';
import { loadHistoryCodec } from '../lib/codec/history-codec';
import { ensureSearchAttributes } from './listing/search-attributes-setup';
import { announceReady, runMain } from '../lib/ready';
import { connectClient } from '../lib/temporal';
import { DEFAULT_ACCEPTANCE_TIMEOUT_MS } from '../workflows/deal/state';
import { loadOperatorSigner } from '../lib/transparency/operator-key';
import { buildApp } from './app';
import { AnchorStore } from './audit/anchor-store';
import { TransparencyLog } from './audit/log-store';
import { logPartyKeys } from './audit/key-registry';
import { lifecycleEnv } from './lifecycle-config';
import { redisSeenRequests } from './seen-requests';

runMain('api', async () => {
  const env = readEnv({
    TUSK_API_HOST: z.string().default('127.0.0.1'),
    TUSK_API_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    TUSK_PARTIES_FILE: z.string().optional(),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    TUSK_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_FEE_BPS),
    TUSK_ACCEPTANCE_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_ACCEPTANCE_TIMEOUT_MS),
    ...lifecycleEnv,
    /** Secret path segment of the Web UI's codec endpoint; unset, only signed operator requests decode. */
    TUSK_CODEC_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
    TUSK_CODEC_UI_ORIGIN: z.url().default('http://localhost:8233'),
    /** Requests one party may send per window, across every API process sharing this Redis. */
    TUSK_RATE_LIMIT_MAX: z.coerce.number().int().positive().default(1200),
    TUSK_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
    /** Shed load (503) once the event loop lags this many ms (0: never). */
    TUSK_SHED_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(1_000),
    /**
     * …or once it is this busy (0..1; 0, the default: never). A busy loop still answers; on a
     * shared machine a startup burst passes 0.98 without any request waiting, so lag decides.
     */
    TUSK_SHED_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0),
    TUSK_SETTLEMENT: z.enum(['local-ledger', 'aztec']).default('local-ledger'),
    TUSK_LEDGER_FILE: z.string().optional(),
    TUSK_TRANSPARENCY_LOG_FILE: z.string().optional(),
    TUSK_LOG_ANCHOR_MS: z.coerce.number().int().min(10_000).optional(),
    TUSK_RECEIPT_SWEEP_MS: z.coerce.number().int().min(1_000).default(15_000),
  });
  const signer = await loadOperatorSigner();
  const logFile = resolve(env.TUSK_TRANSPARENCY_LOG_FILE ?? `${tuskHome()}/transparency-log.sqlite`);
  const transparencyLog = TransparencyLog.open(logFile, signer);
  const anchorStore = AnchorStore.open(logFile);
  const codec = await loadHistoryCodec();
  const temporal = await connectClient(env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE, codec);
  // A request waits at most one retry for Redis; then it is refused (503), never let through unchecked.
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 });
  const searchProblem = await ensureSearchAttributes(temporal, env.TEMPORAL_NAMESPACE);
  if (searchProblem)
    console.warn(
      `tusk api: Temporal search attributes unavailable, GET /deals lists nothing: ${searchProblem}`,
    );
  // Parties added while the API runs are known to the next request (the file is re-read when it changes).
  let warn = (message: string) => console.error(message);
  const parties = await ReloadingPartyRegistry.open(
    resolve(env.TUSK_PARTIES_FILE ?? `${tuskHome()}/parties.json`),
    (message) => warn(message),
    (registered) => logPartyKeys(transparencyLog, registered),
  );
  const app = await buildApp({
    listDeals: searchProblem === undefined,
    temporal,
    parties,
    blobs: blobStoreFromEnv(env.blobDir),
    seenRequests: redisSeenRequests(redis),
    policiesRoot: catalogRoot(),
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
    metrics: new TuskMetrics('api'),
    rateLimit: { max: env.TUSK_RATE_LIMIT_MAX, windowMs: env.TUSK_RATE_LIMIT_WINDOW_MS, redis },
    loadShedding: {
      maxEventLoopDelayMs: env.TUSK_SHED_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: env.TUSK_SHED_EVENT_LOOP_UTILIZATION,
    },
    historyCodec: { codec, token: env.TUSK_CODEC_TOKEN, uiOrigin: env.TUSK_CODEC_UI_ORIGIN },
    audit: {
      signer,
      log: transparencyLog,
      codec,
      sweepIntervalMs: env.TUSK_RECEIPT_SWEEP_MS,
      anchors: anchorStore,
      ...(env.TUSK_LOG_ANCHOR_MS ? { anchorIntervalMs: env.TUSK_LOG_ANCHOR_MS } : {}),
      settlement:
        env.TUSK_SETTLEMENT === 'aztec'
          ? { adapter: 'aztec' }
          : {
              adapter: 'local-ledger',
              ledgerFile: resolve(env.TUSK_LEDGER_FILE ?? `${tuskHome()}/ledger.jsonl`),
            },
    },
  });
  warn = (message) => app.log.warn(message);
  const address = await app.listen({ host: env.TUSK_API_HOST, port: env.TUSK_API_PORT });
  announceReady('api', `${address}, metrics ${address}/metrics`, app.log);
  const close = () =>
    void app
      .close()
      .then(() => temporal.connection.close())
      .then(() => redis.quit())
      .then(() => transparencyLog.close())
      .then(() => anchorStore.close())
      .finally(() => process.exit(0));
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
});
