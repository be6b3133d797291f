import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { BlobStore } from '../../lib/blob-store';
import { requireParty } from '../auth';
import { ApiError } from '../errors';
import { errorBody } from '../deals/schemas';

/** HE public and Galois keys (about 1.7 MB) and encrypted selections fit; nothing much bigger. */
export const BLOB_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Who stores blobs: buyers (HE keys, selections), buyers and sponsors (sealed template drafts),
 * sellers (their sealed comments on a proposal). Content-addressed: nobody overwrites another's.
 */
const BLOB_WRITERS: readonly string[] = ['buyer', 'sponsor', 'seller'];

export const blobRoutes: FastifyPluginAsyncZod<{ blobs: BlobStore }> = async (app, { blobs }) => {
  app.post(
    '/blobs',
    {
      bodyLimit: BLOB_LIMIT_BYTES,
      schema: {
        summary:
          "Store a buyer's HE key material or encrypted selection, a proposer's sealed draft, or a seller's sealed review note (application/octet-stream)",
        response: {
          201: z.object({ ref: z.string() }),
          400: errorBody,
          401: errorBody,
          403: errorBody,
          413: errorBody,
          415: errorBody,
        },
      },
    },
    async (request, reply) => {
      const party = requireParty(request);
      if (!BLOB_WRITERS.includes(party.role))
        throw new ApiError(
          'forbidden',
          `only a buyer, sponsor or seller stores blobs; ${party.id} is a ${party.role}`,
        );
      if (!Buffer.isBuffer(request.body) || request.body.length === 0)
        throw new ApiError('invalid_request', 'send the bytes as a non-empty application/octet-stream body');
      return reply.status(201).send({ ref: await blobs.put(request.body) });
    },
  );
};
