import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty, requireRole } from '../auth';
import { signedEvidenceBody } from '../common-schemas';
import { decisionProof } from '../signed-decision';
import {
  createGrantBody,
  extendDeadlineBody,
  remainderConsentBody,
  grantParams,
  grantProgress,
  grantStatus,
  milestoneDecisionAnswer,
  milestoneParams,
} from './schemas';
import type { GrantService } from './service';
import { errorBody } from '../deals/schemas';
import { errorResponses } from '../error-responses';

export const grantRoutes: FastifyPluginAsyncZod<{ grants: GrantService }> = async (app, { grants }) => {
  app.post(
    '/grants',
    {
      schema: {
        summary: 'Fund a milestone grant (a sponsor): the total is locked in escrow',
        body: createGrantBody,
        response: { 200: grantStatus, 201: grantStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await grants.create(requireRole(request, 'sponsor'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/grants/:grantId',
    {
      schema: {
        summary: "A grant's status (its sponsor, its grantee, the operator)",
        params: grantParams,
        response: { 200: grantStatus, ...errorResponses },
      },
    },
    (request) => grants.visibleStatus(requireParty(request), request.params.grantId),
  );

  app.get(
    '/public/grants/:grantId/progress',
    {
      config: { public: true },
      schema: {
        summary:
          "A grant's public progress: milestones met of total, rounded percent; no amounts, no identities",
        params: grantParams,
        response: { 200: grantProgress, 400: errorBody, 404: errorBody },
      },
    },
    (request) => grants.progress(request.params.grantId),
  );

  app.post(
    '/grants/:grantId/milestones/:milestoneId/evidence',
    {
      schema: {
        summary: 'The grantee submits evidence; a query-verified milestone is then checked in the perimeter',
        params: milestoneParams,
        body: signedEvidenceBody,
        response: { 200: milestoneDecisionAnswer, ...errorResponses },
      },
    },
    (request) =>
      grants.submitEvidence(
        requireParty(request),
        request.params.grantId,
        request.params.milestoneId,
        request.body,
      ),
  );

  app.post(
    '/grants/:grantId/milestones/:milestoneId/approve',
    {
      schema: {
        summary: 'The sponsor approves a milestone checked by approval, signed: its tranche is released',
        params: milestoneParams,
        body: decisionProof,
        response: { 200: milestoneDecisionAnswer, ...errorResponses },
      },
    },
    (request) =>
      grants.approve(requireParty(request), request.params.grantId, request.params.milestoneId, request.body),
  );

  app.post(
    '/grants/:grantId/milestones/:milestoneId/extend',
    {
      schema: {
        summary: "The sponsor moves a milestone's deadline later, before it passes",
        params: milestoneParams,
        body: extendDeadlineBody,
        response: { 200: grantStatus, ...errorResponses },
      },
    },
    (request) =>
      grants.extend(requireParty(request), request.params.grantId, request.params.milestoneId, request.body),
  );

  app.post(
    '/grants/:grantId/remainder/consent',
    {
      schema: {
        summary: 'The grantee gives the unpaid remainder back to the sponsor now, signed: the grant ends',
        params: grantParams,
        body: remainderConsentBody,
        response: { 200: grantStatus, ...errorResponses },
      },
    },
    (request) => grants.consentRemainder(requireParty(request), request.params.grantId, request.body),
  );
};
