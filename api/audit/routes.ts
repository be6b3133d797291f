import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty } from '../auth';
import { errorResponses } from '../error-responses';
import { ApiError } from '../errors';
import { LogRangeError, type TransparencyLog } from './log-store';
import type { ReceiptService } from './receipt-service';
import type { BundleService } from './bundle-service';
import {
  consistencyProofResponse,
  consistencyQuery,
  dealParams,
  inclusionProofResponse,
  inclusionQuery,
  operatorKey,
  signedBundle,
  signedReceipt,
  signedTreeHead,
} from './schemas';

const inRange = <T>(work: () => T): T => {
  try {
    return work();
  } catch (error) {
    if (error instanceof LogRangeError) throw new ApiError('invalid_request', error.message);
    throw error;
  }
};

export const auditRoutes: FastifyPluginAsyncZod<{
  receipts: ReceiptService;
  bundles: BundleService;
  log: TransparencyLog;
  operatorPublicKey: string;
}> = async (app, { receipts, bundles, log, operatorPublicKey }) => {
  app.get(
    '/deals/:dealId/audit-bundle',
    {
      schema: {
        summary: "A finished deal's audit bundle, signed by the operator (its parties and the operator)",
        params: dealParams,
        response: { 200: signedBundle, ...errorResponses },
      },
    },
    (request) => bundles.bundleFor(requireParty(request), request.params.dealId),
  );

  app.get(
    '/deals/:dealId/receipt',
    {
      schema: {
        summary: "A finished deal's receipt, signed by the operator (issued on first request)",
        params: dealParams,
        response: { 200: signedReceipt, ...errorResponses },
      },
    },
    (request) => receipts.visibleReceipt(requireParty(request), request.params.dealId),
  );

  app.get(
    '/operator/key',
    {
      schema: {
        summary: "The operator's signing key (receipts, tree heads, bundles): pin it out of band too",
        response: { 200: operatorKey, ...errorResponses },
      },
    },
    (request) => {
      requireParty(request);
      return { publicKey: operatorPublicKey, algorithm: 'Ed25519' as const };
    },
  );

  app.get(
    '/log/head',
    {
      schema: {
        summary: "The transparency log's latest signed tree head",
        response: { 200: signedTreeHead, ...errorResponses },
      },
    },
    (request) => {
      requireParty(request);
      return log.head();
    },
  );

  app.get(
    '/log/proof/inclusion',
    {
      schema: {
        summary: 'That an entry is in the log: RFC 9162 inclusion proof up to a signed head',
        querystring: inclusionQuery,
        response: { 200: inclusionProofResponse, ...errorResponses },
      },
    },
    (request) => {
      requireParty(request);
      const { dealId, kind, leafIndex, treeSize } = request.query;
      const index =
        leafIndex ?? (dealId !== undefined ? log.documentFor(dealId, kind)?.leafIndex : undefined);
      if (index === undefined) throw new ApiError('not_found', `the log holds no ${kind} of deal ${dealId}`);
      return inRange(() => log.inclusion(index, treeSize ?? log.size()));
    },
  );

  app.get(
    '/log/proof/consistency',
    {
      schema: {
        summary: 'That the log of size `first` is a prefix of the log of size `second` (RFC 9162)',
        querystring: consistencyQuery,
        response: { 200: consistencyProofResponse, ...errorResponses },
      },
    },
    (request) => {
      requireParty(request);
      return inRange(() => log.consistency(request.query.first, request.query.second));
    },
  );
};
