import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import { operatorRetryAccepted, operatorRetryBody } from './schemas';
import type { SettlementService } from './service';

export const settlementRoutes: FastifyPluginAsyncZod<{ settlement: SettlementService }> = async (
  app,
  { settlement },
) => {
  app.post(
    '/settlement/retry',
    {
      schema: {
        summary: "Retry a lifecycle's failed money steps (operator): a refund, a release, a payout",
        body: operatorRetryBody,
        response: { 200: operatorRetryAccepted, ...errorResponses },
      },
    },
    (request) => settlement.retry(requireRole(request, 'operator'), request.body.kind, request.body.id),
  );
};
