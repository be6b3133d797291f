import { decisionProof } from '../signed-decision';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty, requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import type { MultiSellerDealService } from './service';
import { createMultiSellerDealBody, dealParams, dealResult, multiSellerDealStatus } from '../deals/schemas';

export const multiSellerDealRoutes: FastifyPluginAsyncZod<{ deals: MultiSellerDealService }> = async (
  app,
  { deals },
) => {
  app.post(
    '/multi-seller-deals',
    {
      schema: {
        summary: "One template over several sellers' perimeters, summed under the buyer's HE key",
        body: createMultiSellerDealBody,
        response: { 200: multiSellerDealStatus, 201: multiSellerDealStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await deals.create(requireRole(request, 'buyer'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/multi-seller-deals/:dealId',
    {
      schema: {
        summary: "A multi-seller deal's status",
        params: dealParams,
        response: { 200: multiSellerDealStatus, ...errorResponses },
      },
    },
    (request) => deals.visibleStatus(requireParty(request), request.params.dealId),
  );

  app.post(
    '/multi-seller-deals/:dealId/confirm',
    {
      schema: {
        summary: 'The buyer accepts the sum, signed over its scope: each seller is paid its share',
        params: dealParams,
        body: decisionProof,
        response: { 200: multiSellerDealStatus, ...errorResponses },
      },
    },
    (request) => deals.confirm(requireParty(request), request.params.dealId, request.body),
  );

  app.get(
    '/multi-seller-deals/:dealId/result',
    {
      schema: {
        summary: 'The encrypted sum (its buyer only)',
        params: dealParams,
        response: { 200: dealResult, ...errorResponses },
      },
    },
    (request) => deals.result(requireParty(request), request.params.dealId),
  );
};
