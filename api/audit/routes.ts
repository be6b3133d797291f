import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { receiptPdf } from '../../audit/receipt-pdf';
import type { AuditSubject } from '../../audit/subject';
import { requireParty } from '../auth';
import { errorResponses } from '../error-responses';
import { ApiError } from '../errors';
import { LogRangeError, type TransparencyLog } from './log-store';
import type { ReceiptService } from './receipt-service';
import type { BundleService } from './bundle-service';
import { exportProof, type ExportProof } from '../signed-decision';
import {
  consistencyProofResponse,
  consistencyQuery,
  dealParams,
  disclosureParams,
  grantParams,
  periodParams,
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
  const bundleRoute = (
    url: string,
    params: z.ZodType,
    summary: string,
    subjectOf: (p: never) => AuditSubject,
    querystring?: typeof exportProof,
  ) =>
    app.get(
      url,
      {
        schema: {
          summary,
          params,
          ...(querystring ? { querystring } : {}),
          response: { 200: signedBundle, ...errorResponses },
        },
      },
      (request) =>
        bundles.bundleFor(
          requireParty(request),
          subjectOf(request.params as never),
          querystring ? (request.query as ExportProof) : {},
        ),
    );
  const receiptRoute = (
    url: string,
    params: z.ZodType,
    summary: string,
    subjectOf: (p: never) => AuditSubject,
  ) => {
    app.get(
      url,
      { schema: { summary, params, response: { 200: signedReceipt, ...errorResponses } } },
      (request) => receipts.visibleReceipt(requireParty(request), subjectOf(request.params as never)),
    );
    // The same copy as a PDF for accounting (what `tusk receipt pdf` renders), for clients that
    // cannot render it themselves: the console. The signed JSON stays the authoritative document.
    app.get(
      `${url}/pdf`,
      {
        schema: {
          summary: `${summary}, as a PDF (the JSON is the signed document)`,
          params,
          produces: ['application/pdf'],
          response: errorResponses,
        },
      },
      async (request, reply) => {
        const receipt = await receipts.visibleReceipt(
          requireParty(request),
          subjectOf(request.params as never),
        );
        const pdf = await receiptPdf(receipt);
        // Bytes are sent as they are (no serializer); the route's typed answers are only its errors.
        return reply.type('application/pdf').send(pdf as never);
      },
    );
  };

  bundleRoute(
    '/deals/:dealId/audit-bundle',
    dealParams,
    "A finished deal's audit bundle (one-time or multi-seller, with its dispute), signed by the operator; an auditor exports it under an approved disclosure with a signed export",
    ({ dealId }: { dealId: string }) => ({ kind: 'deal', dealId }),
    exportProof,
  );
  bundleRoute(
    '/subscriptions/:subscriptionId/periods/:period/audit-bundle',
    periodParams,
    "A settled subscription period's audit bundle: every run of the chain the period spans",
    ({ subscriptionId, period }: { subscriptionId: string; period: number }) => ({
      kind: 'subscription_period',
      subscriptionId,
      period,
    }),
  );
  bundleRoute(
    '/grants/:grantId/audit-bundle',
    grantParams,
    "A finished grant's audit bundle, its tranches and refund",
    ({ grantId }: { grantId: string }) => ({ kind: 'grant', grantId }),
  );
  bundleRoute(
    '/disclosures/:disclosureId/audit-bundle',
    disclosureParams,
    "A closed disclosure's audit bundle: its signed decisions and recorded views",
    ({ disclosureId }: { disclosureId: string }) => ({ kind: 'disclosure', disclosureId }),
  );
  receiptRoute(
    '/deals/:dealId/receipt',
    dealParams,
    "A finished deal's receipt, signed by the operator (issued on first request)",
    ({ dealId }: { dealId: string }) => ({ kind: 'deal', dealId }),
  );
  receiptRoute(
    '/subscriptions/:subscriptionId/periods/:period/receipt',
    periodParams,
    "A settled subscription period's receipt (issued on first request)",
    ({ subscriptionId, period }: { subscriptionId: string; period: number }) => ({
      kind: 'subscription_period',
      subscriptionId,
      period,
    }),
  );
  receiptRoute(
    '/grants/:grantId/receipt',
    grantParams,
    "A finished grant's receipt: its tranches, fee and refund",
    ({ grantId }: { grantId: string }) => ({ kind: 'grant', grantId }),
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
