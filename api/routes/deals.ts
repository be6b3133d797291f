import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty, requireRole } from '../auth';
import type { DealService } from '../deal-service';
import { createDealBody, dealParams, dealResult, dealStatus, errorBody } from '../schemas';

const errors = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  422: errorBody,
};

export const dealRoutes: FastifyPluginAsyncZod<{ deals: DealService }> = async (app, { deals }) => {
  app.post(
    '/deals',
    {
      schema: {
        summary: 'Buy one answer of a signed template: starts a cohort-query deal',
        body: createDealBody,
        response: { 200: dealStatus, 201: dealStatus, ...errors },
      },
    },
    async (request, reply) => {
      const { created, status } = await deals.create(requireRole(request, 'buyer'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/deals/:dealId',
    { schema: { summary: "A deal's status", params: dealParams, response: { 200: dealStatus, ...errors } } },
    (request) => deals.visibleStatus(requireParty(request), request.params.dealId),
  );

  app.post(
    '/deals/:dealId/confirm',
    {
      schema: {
        summary: 'The buyer accepts the delivered result: the seller is paid',
        params: dealParams,
        response: { 200: dealStatus, ...errors },
      },
    },
    (request) => deals.confirm(requireParty(request), request.params.dealId),
  );

  app.get(
    '/deals/:dealId/result',
    {
      schema: {
        summary: 'The sealed result (its buyer only)',
        params: dealParams,
        response: { 200: dealResult, ...errors },
      },
    },
    (request) => deals.result(requireParty(request), request.params.dealId),
  );
};
