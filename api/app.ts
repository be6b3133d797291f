import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
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
import { DealService, type DealServiceConfig } from './deal-service';
import { DisclosureService } from './disclosure-service';
import { DisputeService } from './dispute-service';
import { installErrorHandler } from './error-handler';
import { GrantService } from './grant-service';
import { DEFAULT_LIFECYCLE_CONFIG, type LifecycleConfig } from './lifecycle-config';
import { disclosureRoutes } from './routes/disclosures';
import { disputeRoutes } from './routes/disputes';
import { grantRoutes } from './routes/grants';
import { blobRoutes } from './routes/blobs';
import { dealRoutes } from './routes/deals';
import { multiSellerDealRoutes } from './routes/multi-seller-deals';
import { MultiSellerDealService } from './multi-seller-service';
import { healthRoutes } from './routes/health';
import { subscriptionRoutes } from './routes/subscriptions';
import { templateRoutes } from './routes/templates';
import { SubscriptionService } from './subscription-service';
import { TemplateCatalog } from './template-catalog';

export interface AppDeps {
  temporal: Client;
  parties: PartyRegistry;
  blobs: BlobStore;
  policiesRoot: string;
  deals: DealServiceConfig;
  /** Subscription and disclosure durations; defaults for any left out. */
  lifecycles?: Partial<LifecycleConfig>;
  logger?: boolean;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  installRequestSigning(app, deps.parties);

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
  await app.register(multiSellerDealRoutes, {
    deals: new MultiSellerDealService(temporal, catalog, blobs, deps.deals),
  });
  return app;
}
