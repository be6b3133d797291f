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
import type { PartyRegistry } from '../lib/parties';
import { SIGNATURE_HEADER, PARTY_HEADER, TIMESTAMP_HEADER } from '../lib/signed-request';
import { installRequestSigning } from './auth';
import { codecRoutes } from './codec/routes';
import { CodecService } from './codec/service';
import { DealService, type DealServiceConfig } from './deals/service';
import { DisclosureService } from './disclosures/service';
import { DisputeService } from './disputes/service';
import { installErrorHandler } from './error-handler';
import type { SeenRequests } from './seen-requests';
import { GrantService } from './grants/service';
import { DEFAULT_LIFECYCLE_CONFIG, type LifecycleConfig } from './lifecycle-config';
import { disclosureRoutes } from './disclosures/routes';
import { disputeRoutes } from './disputes/routes';
import { grantRoutes } from './grants/routes';
import { blobRoutes } from './blobs/routes';
import { budgetRoutes } from './budgets/routes';
import { BudgetService } from './budgets/service';
import { dealRoutes } from './deals/routes';
import { multiSellerDealRoutes } from './multi-seller/routes';
import { MultiSellerDealService } from './multi-seller/service';
import { healthRoutes } from './health';
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
  logger?: boolean;
  /** The history codec endpoint; left out, the API serves none. */
  historyCodec?: { codec: PayloadCodec; token?: string; uiOrigin: string };
}

export const BODY_LIMIT_BYTES = 64 * 1024;

/** Fastify's request log line, without the Web UI's codec token, which is a path segment. */
const loggedRequest = (request: FastifyRequest) => ({
  method: request.method,
  url: request.url.replace(/^\/codec\/[^/]+\/(encode|decode)/, '/codec/<token>/$1'),
  host: request.host,
  remoteAddress: request.ip,
});

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ? { serializers: { req: loggedRequest } } : false,
    bodyLimit: BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  installRequestSigning(app, deps.parties, deps.seenRequests);

  // The OpenAPI document and its UI are public.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tusk',
        version: '0.1.0',
        description: `Every request but /health and /docs is signed: headers ${PARTY_HEADER}, ${TIMESTAMP_HEADER}, ${SIGNATURE_HEADER} (Ed25519; see README).`,
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  const catalog = new TemplateCatalog(deps.policiesRoot, deps.parties);
  await app.register(healthRoutes, { temporal: deps.temporal });
  await app.register(templateRoutes, { catalog });
  const lifecycles = { ...DEFAULT_LIFECYCLE_CONFIG, ...deps.lifecycles };
  const { temporal, parties, blobs } = deps;
  await app.register(blobRoutes, { blobs });
  await app.register(dealRoutes, { deals: new DealService(temporal, catalog, blobs, deps.deals) });
  await app.register(disputeRoutes, { disputes: new DisputeService(temporal, parties, blobs) });
  await app.register(subscriptionRoutes, {
    subscriptions: new SubscriptionService(temporal, catalog, blobs, {
      ...lifecycles,
      feeBps: deps.deals.feeBps,
    }),
  });
  await app.register(grantRoutes, {
    grants: new GrantService(temporal, catalog, parties, blobs, { feeBps: deps.deals.feeBps }),
  });
  await app.register(disclosureRoutes, { disclosures: new DisclosureService(temporal, lifecycles) });
  await app.register(budgetRoutes, { budgets: new BudgetService(temporal, parties) });
  await app.register(multiSellerDealRoutes, {
    deals: new MultiSellerDealService(temporal, catalog, blobs, deps.deals),
  });
  await app.register(settlementRoutes, { settlement: new SettlementService(temporal) });
  if (deps.historyCodec) {
    const { codec, token, uiOrigin } = deps.historyCodec;
    await app.register(codecRoutes, { codec: new CodecService(codec, token), uiOrigin });
  }
  return app;
}
