import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty } from '../auth';
import {
  approveOutcomeBody,
  disputeEvidence,
  disputeStatus,
  nameReviewerBody,
  openDisputeBody,
} from './schemas';
import { signedEvidenceBody } from '../common-schemas';
import { decisionProof, viewProof } from '../signed-decision';
import type { DisputeService } from './service';
import { dealParams, dealStatus } from '../deals/schemas';
import { errorResponses } from '../error-responses';

export const disputeRoutes: FastifyPluginAsyncZod<{ disputes: DisputeService }> = async (
  app,
  { disputes },
) => {
  app.post(
    '/deals/:dealId/dispute',
    {
      schema: {
        summary: 'Open a dispute within the acceptance window (its buyer or seller): the escrow freezes',
        params: dealParams,
        body: openDisputeBody,
        response: { 200: dealStatus, ...errorResponses },
      },
    },
    (request) => disputes.open(requireParty(request), request.params.dealId, request.body),
  );

  app.get(
    '/deals/:dealId/dispute',
    {
      schema: {
        summary: "A dispute's status and audit trail",
        params: dealParams,
        response: { 200: disputeStatus, ...errorResponses },
      },
    },
    (request) => disputes.visibleStatus(requireParty(request), request.params.dealId),
  );

  app.post(
    '/deals/:dealId/dispute/reviewer',
    {
      schema: {
        summary: 'Name the reviewer (compliance or the operator): time-bound access to the evidence',
        params: dealParams,
        body: nameReviewerBody,
        response: { 200: disputeStatus, ...errorResponses },
      },
    },
    (request) => disputes.nameReviewer(requireParty(request), request.params.dealId, request.body),
  );

  app.post(
    '/deals/:dealId/dispute/evidence',
    {
      schema: {
        summary: 'Add evidence (its buyer or seller)',
        params: dealParams,
        body: signedEvidenceBody,
        response: { 200: disputeStatus, ...errorResponses },
      },
    },
    (request) => disputes.addEvidence(requireParty(request), request.params.dealId, request.body),
  );

  app.get(
    '/deals/:dealId/dispute/evidence',
    {
      schema: {
        summary: 'Read the evidence (the named reviewer, until the access ends; each read is recorded)',
        params: dealParams,
        querystring: viewProof,
        response: { 200: disputeEvidence, ...errorResponses },
      },
    },
    (request) => disputes.readEvidence(requireParty(request), request.params.dealId, request.query),
  );

  app.post(
    '/deals/:dealId/dispute/approvals',
    {
      schema: {
        summary: 'Approve an outcome (compliance): two distinct principals on the same outcome resolve it',
        params: dealParams,
        body: approveOutcomeBody,
        response: { 200: disputeStatus, ...errorResponses },
      },
    },
    (request) => disputes.approve(requireParty(request), request.params.dealId, request.body),
  );

  app.post(
    '/deals/:dealId/dispute/concede',
    {
      schema: {
        summary:
          "Concede (the seller): signed refund_consent of the deal's escrow; the dispute resolves as a refund",
        params: dealParams,
        body: decisionProof,
        response: { 200: disputeStatus, ...errorResponses },
      },
    },
    (request) => disputes.concede(requireParty(request), request.params.dealId, request.body),
  );
};
