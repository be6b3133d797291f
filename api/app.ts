import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { settlementRoutes } from './settlement/routes';
import { SettlementService } from './settlement/service';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { BlobStore } from '../lib/blob-store';
import { AesGcmPayloadCodec } from '../lib/codec/aes-gcm-codec';
import { loggerOptions } from '../lib/observability/logger';
import type { TuskMetrics } from '../lib/observability/metrics';
import type { PartyRegistry } from '../lib/parties';
import { SIGNED_COMPONENTS } from '../lib/signed-request';
import { installRequestSigning } from './auth';
import { anchorRoutes } from './audit/anchor-routes';
import { AnchorService, startAnchorTimer } from './audit/anchor-service';
import { auditRoutes } from './audit/routes';
import { keyRoutes } from './audit/key-routes';
import { releaseRoutes } from './audit/release-routes';
import { ReceiptService, type AuditConfig } from './audit/receipt-service';
import { BundleService } from './audit/bundle-service';
import { startReceiptIssuer } from './audit/receipt-issuer';
import { codecRoutes } from './codec/routes';
import { consoleRoutes } from './console/routes';
import { CodecService } from './codec/service';
import { DealService, type DealServiceConfig } from './deals/service';
import { DisclosureService } from './disclosures/service';
import { DisputeService } from './disputes/service';
import { installErrorHandler } from './error-handler';
import type { SeenRequests } from './seen-requests';
import { GrantService } from './grants/service';
import { DEFAULT_LIFECYCLE_CONFIG, type LifecycleConfig } from './lifecycle-config';
import { disclosureRoutes } from './disclosures/routes';
import { templateReviewRoutes } from './template-reviews/routes';
import { TemplateReviewService } from './template-reviews/service';
import { disputeRoutes } from './disputes/routes';
import { grantRoutes } from './grants/routes';
import { blobRoutes } from './blobs/routes';
import { budgetRoutes } from './budgets/routes';
import { BudgetService } from './budgets/service';
import { dealRoutes } from './deals/routes';
import { multiSellerDealRoutes } from './multi-seller/routes';
import { MultiSellerDealService } from './multi-seller/service';
import { healthRoutes } from './health';
import { listingRoutes } from './listing/routes';
import { PartySearch } from './listing/party-search';
import { ListingService } from './listing/service';
import { registerHelmet } from './plugins/helmet';
import { registerMetrics } from './plugins/metrics';
import { registerRateLimit, type RateLimitOptions } from './plugins/rate-limit';
import { registerLoadShedding, type LoadSheddingOptions } from './plugins/under-pressure';
import { subscriptionRoutes } from './subscriptions/routes';
import { templateRoutes } from './templates/routes';
import { SubscriptionService } from './subscriptions/service';
import { TemplateCatalog } from './templates/catalog';

export interface AppDeps {
  temporal: Client;
  parties: PartyRegistry;
  blobs: BlobStore;
  /** Accepted request signatures (Redis, see seen-requests.ts): a replayed request is refused. */
  seenRequests: SeenRequests;
  policiesRoot: string;
  deals: DealServiceConfig;
  /** Subscription and disclosure durations; defaults for any left out. */
  lifecycles?: Partial<LifecycleConfig>;
  /** JSON logs (pino) on stdout. */
  logger?: boolean;
  /** Serves GET /metrics from this registry. */
  metrics?: TuskMetrics;
  /** Per-party request limits (Redis-backed when given a client); left out, none. */
  rateLimit?: RateLimitOptions;
  /** Load shedding (503) before the event loop stalls; left out, none. */
  loadShedding?: LoadSheddingOptions;
  /** The history codec endpoint; left out, the API serves none. */
  historyCodec?: { codec: PayloadCodec; token?: string; uiOrigin: string };
  /**
   * Whether Temporal has Tusk's search attributes (api/listing/search-attributes-setup.ts): then
   * lifecycles are started with them and GET /deals lists them; without, neither.
   */
  listDeals?: boolean;
  /** Receipts, the transparency log and audit bundles; left out, the API serves none. */
  audit?: AuditConfig;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

/** Fastify's request log line, without the Web UI's codec token, which is a path segment. */
const loggedRequest = (request: FastifyRequest) => ({
  method: request.method,
  url: request.url.replace(/^\/codec\/[^/]+\/(encode|decode)/, '/codec/<token>/$1'),
  host: request.host,
  remoteAddress: request.ip,
});

const LIFECYCLE_ID_FIELDS = ['dealId', 'subscriptionId', 'grantId', 'disclosureId', 'reviewId'] as const;

function lifecycleIdOf(fields: unknown): string | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined;
  const record = fields as Record<string, unknown>;
  const id = LIFECYCLE_ID_FIELDS.map((field) => record[field]).find((value) => typeof value === 'string');
  return id;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ? { ...loggerOptions('api'), serializers: { req: loggedRequest } } : false,
    bodyLimit: BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  const log = deps.audit?.log;
  installRequestSigning(app, deps.parties, deps.seenRequests, log && ((partyId) => log.currentKeys(partyId)));
  // Every log line of a request about one lifecycle carries its id, the route's or (for a start) the
  // body's; the reply's logger too, so the "request completed" line can be found by deal.
  app.addHook('preHandler', async (request, reply) => {
    const id = lifecycleIdOf(request.params) ?? lifecycleIdOf(request.body);
    if (id === undefined) return;
    request.log = request.log.child({ dealId: id });
    reply.log = request.log;
  });
  // fastify/demo's production plugins, registered before any route so they cover all of them.
  await registerHelmet(app);
  if (deps.loadShedding) await registerLoadShedding(app, deps.loadShedding);
  if (deps.rateLimit) await registerRateLimit(app, deps.rateLimit);
  if (deps.metrics) await registerMetrics(app, deps.metrics);

  // The OpenAPI document and its UI are public.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tusk',
        version: '0.1.0',
        description: `Every request but /health and /docs is signed as an RFC 9421 HTTP Message Signature: Ed25519 over ${SIGNED_COMPONENTS.join(', ')}, keyid the party id, with created and a fresh nonce (see README).`,
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list' },
    staticCSP: true,
  });

  const catalog = new TemplateCatalog(deps.policiesRoot, deps.parties);
  // Parties appear in Temporal's visibility only as tokens keyed by the history keys.
  const codec = deps.historyCodec?.codec;
  const search =
    deps.listDeals && codec instanceof AesGcmPayloadCodec
      ? new PartySearch(codec.keyring.derivedKey('party search v1'))
      : undefined;
  const dealConfig = { ...deps.deals, ...(search ? { search } : {}) };
  await app.register(healthRoutes, { temporal: deps.temporal });
  await app.register(consoleRoutes);
  await app.register(templateRoutes, {
    catalog,
    feeBps: deps.deals.feeBps,
    acceptanceWindowSeconds: Math.max(1, Math.ceil(deps.deals.acceptanceTimeoutMs / 1000)),
  });
  const lifecycles = { ...DEFAULT_LIFECYCLE_CONFIG, ...deps.lifecycles };
  const { temporal, parties, blobs } = deps;
  await app.register(blobRoutes, { blobs });
  await app.register(listingRoutes, { listing: new ListingService(temporal, search) });
  await app.register(dealRoutes, { deals: new DealService(temporal, catalog, blobs, dealConfig) });
  await app.register(disputeRoutes, { disputes: new DisputeService(temporal, parties, blobs) });
  await app.register(subscriptionRoutes, {
    subscriptions: new SubscriptionService(temporal, catalog, blobs, {
      ...lifecycles,
      feeBps: deps.deals.feeBps,
      search,
    }),
  });
  await app.register(grantRoutes, {
    grants: new GrantService(temporal, catalog, parties, blobs, {
      feeBps: deps.deals.feeBps,
      search,
      log: deps.audit?.log,
    }),
  });
  await app.register(disclosureRoutes, {
    disclosures: new DisclosureService(temporal, lifecycles, search, deps.audit?.log),
  });
  await app.register(budgetRoutes, { budgets: new BudgetService(temporal, parties) });
  await app.register(templateReviewRoutes, {
    reviews: new TemplateReviewService(temporal, parties, catalog, blobs),
  });
  await app.register(multiSellerDealRoutes, {
    deals: new MultiSellerDealService(temporal, catalog, blobs, dealConfig),
  });
  if (deps.audit) {
    const receipts = new ReceiptService(temporal, deps.audit);
    if (deps.audit.sweepIntervalMs) {
      const stop = startReceiptIssuer(temporal, receipts, {
        intervalMs: deps.audit.sweepIntervalMs,
        warn: (message) => app.log.warn(message),
      });
      app.addHook('onClose', stop);
    }
    await app.register(auditRoutes, {
      receipts,
      bundles: new BundleService(temporal, blobs, parties, deps.policiesRoot, receipts, deps.audit),
      log: deps.audit.log,
      operatorPublicKey: deps.audit.signer.publicKey,
    });
    await app.register(keyRoutes, { log: deps.audit.log, refreshRegistry: () => void parties.all() });
    await app.register(releaseRoutes, { log: deps.audit.log, refreshRegistry: () => void parties.all() });
    if (deps.audit.anchors) {
      const anchors = new AnchorService(
        temporal,
        deps.audit.log,
        deps.audit.anchors,
        deps.audit.settlement.adapter,
      );
      await app.register(anchorRoutes, { anchors });
      if (deps.audit.anchorIntervalMs) {
        const stop = startAnchorTimer(anchors, {
          intervalMs: deps.audit.anchorIntervalMs,
          warn: (message) => app.log.warn(message),
        });
        app.addHook('onClose', stop);
      }
    }
  }
  await app.register(settlementRoutes, { settlement: new SettlementService(temporal) });
  if (deps.historyCodec) {
    const { codec, token, uiOrigin } = deps.historyCodec;
    await app.register(codecRoutes, {
      codec: new CodecService(codec, token),
      uiOrigin,
      namespace: temporal.options.namespace,
    });
  }
  return app;
}
