import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty, requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import type { DealService } from './service';
import { decisionProof } from '../signed-decision';
import { createDealBody, dealParams, dealResult, dealStatus } from './schemas';

export const dealRoutes: FastifyPluginAsyncZod<{ deals: DealService }> = async (app, { deals }) => {
  app.post(
    '/deals',
    {
      schema: {
        summary: 'Buy one answer of a signed template: starts a cohort-query deal',
        body: createDealBody,
        response: { 200: dealStatus, 201: dealStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await deals.create(requireRole(request, 'buyer'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/deals/:dealId',
    {
      schema: {
        summary: "A deal's status",
        params: dealParams,
        response: { 200: dealStatus, ...errorResponses },
      },
    },
    (request) => deals.visibleStatus(requireParty(request), request.params.dealId),
  );

  app.post(
    '/deals/:dealId/confirm',
    {
      schema: {
        summary: 'The buyer accepts the delivered result, signed over its scope: the seller is paid',
        params: dealParams,
        body: decisionProof,
        response: { 200: dealStatus, ...errorResponses },
      },
    },
    (request) => deals.confirm(requireParty(request), request.params.dealId, request.body),
  );

  app.get(
    '/deals/:dealId/result',
    {
      schema: {
        summary: 'The sealed result (its buyer only)',
        params: dealParams,
        response: { 200: dealResult, ...errorResponses },
      },
    },
    (request) => deals.result(requireParty(request), request.params.dealId),
  );
};
