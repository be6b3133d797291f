import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { releaseAppendRequest, releaseLookup } from '../../lib/transparency/release-entry';
import { requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import type { TransparencyLog } from './log-store';

const lookupParams = z.object({ lookupKey: z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex') });
/** The size of the head the asker saved: the answer proves the log still extends it. */
const sinceQuery = z.object({ since: z.coerce.number().int().min(0).default(0) });

/**
 * Releases in the transparency log (lib/transparency/release-entry.ts). A seller's perimeter appends
 * each release before it returns the answer, signing with its logged key; any registered party may
 * look a key up, which it can only compute for a deal it is party to. Both answer with proofs.
 */
export const releaseRoutes: FastifyPluginAsyncZod<{
  log: TransparencyLog;
  refreshRegistry: () => void;
}> = async (app, { log, refreshRegistry }) => {
  app.post(
    '/log/releases',
    {
      config: { loggedKeysSign: true },
      schema: {
        summary:
          "Logs a perimeter's release (lookup key and statement digest only); sellers' perimeters only",
        body: releaseAppendRequest,
        querystring: sinceQuery,
        response: { 200: releaseLookup, ...errorResponses },
      },
    },
    (request) => {
      refreshRegistry();
      requireRole(request, 'seller');
      return log.logRelease(request.body, request.query.since);
    },
  );
  app.get(
    '/log/releases/:lookupKey',
    {
      config: { loggedKeysSign: true },
      schema: {
        summary: 'The releases logged under a lookup key, with proofs and the signed statement of which',
        params: lookupParams,
        querystring: sinceQuery,
        response: { 200: releaseLookup, ...errorResponses },
      },
    },
    (request) => log.releaseLookup(request.params.lookupKey, request.query.since),
  );
  app.get(
    '/log/extensions/:lookupKey',
    {
      config: { loggedKeysSign: true },
      schema: {
        summary: "A grant's logged deadline extensions (the sponsor's signed statements), with proofs",
        params: lookupParams,
        querystring: sinceQuery,
        response: { 200: releaseLookup, ...errorResponses },
      },
    },
    (request) => log.releaseLookup(request.params.lookupKey, request.query.since, 'extension'),
  );
};
