import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { keyPurpose, keyRegistrations } from '../../lib/transparency/key-registration';
import { errorResponses } from '../error-responses';
import type { TransparencyLog } from './log-store';

const keyParams = z.object({ partyId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a party id') });
const keyQuery = z.object({
  purpose: keyPurpose.default('party'),
  /** The size of the head the asker saved: the answer proves the log still extends it. */
  since: z.coerce.number().int().min(0).default(0),
});

/**
 * A party's logged keys, with proofs, to registered parties and auditors only: a key registration
 * names a party's role, so an unsigned caller gets 401 before the id is even looked at (it learns
 * nothing of which ids exist). A seller's perimeter signs with its own logged key; a key a later
 * registration retired is refused like any other wrong key.
 */
export const keyRoutes: FastifyPluginAsyncZod<{
  log: TransparencyLog;
  /** Reads the registry, so a party the operator just added is logged before it is asked about. */
  refreshRegistry: () => void;
}> = async (app, { log, refreshRegistry }) => {
  app.get(
    '/log/keys/:partyId',
    {
      config: { loggedKeysSign: true },
      schema: {
        summary: "A party's key registrations in the transparency log, with inclusion and consistency proofs",
        params: keyParams,
        querystring: keyQuery,
        response: { 200: keyRegistrations, ...errorResponses },
      },
    },
    (request) => {
      refreshRegistry();
      return log.keyRegistrations(request.params.partyId, request.query.purpose, request.query.since);
    },
  );
};
