import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { logAnchor, logAnchorList } from '../../lib/transparency/anchor';
import { requireParty, requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import type { AnchorService } from './anchor-service';

export const anchorRoutes: FastifyPluginAsyncZod<{ anchors: AnchorService }> = async (app, { anchors }) => {
  app.get(
    '/log/anchors',
    {
      schema: {
        summary: "Where the log's heads are anchored on Aztec, oldest first: check them on a node",
        response: { 200: logAnchorList, ...errorResponses },
      },
    },
    (request) => {
      requireParty(request);
      return { anchors: anchors.list() };
    },
  );

  app.post(
    '/log/anchors',
    {
      schema: {
        summary:
          "Anchors the log's current head on Aztec now (operator); a head anchored already is returned",
        response: { 200: z.object({ anchor: logAnchor, anchored: z.boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      requireRole(request, 'operator');
      return anchors.anchorNow();
    },
  );
};
