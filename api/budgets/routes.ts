import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty } from '../auth';
import { errorBody } from '../deals/schemas';
import { errorResponses } from '../error-responses';
import { budgetParams, budgetView } from './schemas';
import type { BudgetService } from './service';

export const budgetRoutes: FastifyPluginAsyncZod<{ budgets: BudgetService }> = async (app, { budgets }) => {
  app.get(
    '/budgets/:sellerId/:dataset',
    {
      schema: {
        summary:
          "A dataset's privacy budget inside the window: spent and left for all buyers together, and for the asking buyer",
        params: budgetParams,
        response: { 200: budgetView, ...errorResponses, 503: errorBody },
      },
    },
    (request) => budgets.view(requireParty(request), request.params.sellerId, request.params.dataset),
  );
};
