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
import { installErrorHandler } from './error-handler';
import { blobRoutes } from './routes/blobs';
import { dealRoutes } from './routes/deals';
import { multiSellerDealRoutes } from './routes/multi-seller-deals';
import { MultiSellerDealService } from './multi-seller-service';
import { healthRoutes } from './routes/health';
import { templateRoutes } from './routes/templates';
import { TemplateCatalog } from './template-catalog';

export interface AppDeps {
  temporal: Client;
  parties: PartyRegistry;
  blobs: BlobStore;
  policiesRoot: string;
  deals: DealServiceConfig;
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
  await app.register(blobRoutes, { blobs: deps.blobs });
  await app.register(dealRoutes, { deals: new DealService(deps.temporal, catalog, deps.blobs, deps.deals) });
  await app.register(multiSellerDealRoutes, {
    deals: new MultiSellerDealService(deps.temporal, catalog, deps.blobs, deps.deals),
  });
  return app;
}
