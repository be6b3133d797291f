import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty } from '../auth';
import { errorResponses } from '../error-responses';
import { dealList, listDealsQuery } from './schemas';
import type { ListingService } from './service';

export const listingRoutes: FastifyPluginAsyncZod<{ listing: ListingService }> = async (app, { listing }) => {
  app.get(
    '/deals',
    {
      schema: {
        summary: 'The deals, subscriptions, grants, disputes and disclosures the caller may see',
        querystring: listDealsQuery,
        response: { 200: dealList, ...errorResponses },
      },
    },
    (request) => listing.list(requireParty(request), request.query),
  );
};
