import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { noisePlan as plan } from '../../query-policies/noise-plan';
import type { TemplateCatalog } from './catalog';
import { errorBody, templateSummary } from '../deals/schemas';
import { requireParty } from '../auth';
import { errorResponses } from '../error-responses';
import { publishedTemplate, publishTemplateBody } from './schemas';
import { publishTemplate } from './service';

export const templateRoutes: FastifyPluginAsyncZod<{
  catalog: TemplateCatalog;
  feeBps: number;
  acceptanceWindowSeconds: number;
}> = async (app, { catalog, feeBps, acceptanceWindowSeconds }) => {
  app.get(
    '/templates',
    {
      schema: {
        summary: 'Signed templates for sale, with the hash a deal must pin',
        response: {
          // The platform fee a buyer signs beside the price (basis points); settlement takes no other.
          // The acceptance window the operator suggests (seconds); the buyer signs it or its own.
          200: z.object({
            templates: z.array(templateSummary),
            feeBps: z.number(),
            acceptanceWindowSeconds: z.number(),
          }),
          401: errorBody,
        },
      },
    },
    async () => ({
      feeBps,
      acceptanceWindowSeconds,
      templates: (await catalog.list()).map(({ template, hash }) => ({
        id: template.id,
        version: template.version,
        seller: template.seller,
        hash,
        title: template.title,
        description: template.description,
        dataset: template.dataset,
        parameters: template.parameters,
        constraints: template.constraints,
        dimensions: template.dimensions,
        metrics: template.metrics.map(({ name, aggregate }) => ({ name, aggregate })),
        minCohortSize: template.minCohortSize,
        groupRelease: plan(template).groupRelease.kind,
        privacy: {
          mechanism: template.privacy.mechanism,
          epsilon: plan(template).epsilon,
          delta: plan(template).delta,
        },
        milestones: template.milestones,
        compliance: template.compliance,
        multiSeller: template.multiSeller,
        privateSelection: template.privateSelection,
        groupDomain: template.groupDomain,
        price: template.price,
      })),
    }),
  );
  app.post(
    '/templates',
    {
      schema: {
        summary: "Publish a template its seller signed (signed by that seller's registered key)",
        body: publishTemplateBody,
        response: { 201: publishedTemplate, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { template, signature } = request.body;
      reply.code(201);
      return publishTemplate(catalog, requireParty(request), template, signature);
    },
  );
};
