import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty } from '../auth';
import { errorResponses } from '../error-responses';
import {
  approvalBody,
  listedReview,
  noteParams,
  proposalBody,
  reviewDecisionBody,
  reviewList,
  reviewParams,
  revisionParams,
  sealedDraftResponse,
  sealedNoteResponse,
  reviewStatus,
} from './schemas';
import type { TemplateReviewService } from './service';

export const templateReviewRoutes: FastifyPluginAsyncZod<{ reviews: TemplateReviewService }> = async (
  app,
  { reviews },
) => {
  app.post(
    '/template-reviews',
    {
      schema: {
        summary:
          'A buyer or sponsor proposes a template to a seller: the reference of its sealed draft and the draft hash it signed',
        body: proposalBody,
        response: { 200: reviewStatus, 201: reviewStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await reviews.propose(requireParty(request), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );
  app.get(
    '/template-reviews',
    {
      schema: {
        summary: "The caller's proposals: those it made, or those made to it as seller",
        response: { 200: reviewList, ...errorResponses },
      },
    },
    async (request) => ({
      reviews: (await reviews.list(requireParty(request))).map((review) => listedReview.parse(review)),
    }),
  );
  app.get(
    '/template-reviews/:reviewId',
    {
      schema: {
        summary:
          'A proposal with every revision, its previews and the comments (its proposer and seller only)',
        params: reviewParams,
        response: { 200: reviewStatus, ...errorResponses },
      },
    },
    async (request) => reviews.status(requireParty(request), request.params.reviewId),
  );
  app.get(
    '/template-reviews/:reviewId/revisions/:revision/draft',
    {
      schema: {
        summary:
          "One revision's sealed draft (base64url): it opens only with the seller's perimeter key or the proposer's own",
        params: revisionParams,
        response: { 200: sealedDraftResponse, ...errorResponses },
      },
    },
    async (request) =>
      reviews.sealedDraft(requireParty(request), request.params.reviewId, request.params.revision),
  );
  app.get(
    '/template-reviews/:reviewId/notes/:ref',
    {
      schema: {
        summary:
          "A sealed note of the review (a comment's text, a refused preview's lint problems), base64url: it opens only with the seller's perimeter key or the proposer's reply key",
        params: noteParams,
        response: { 200: sealedNoteResponse, ...errorResponses },
      },
    },
    async (request) => reviews.sealedNote(requireParty(request), request.params.reviewId, request.params.ref),
  );
  app.post(
    '/template-reviews/:reviewId/revisions',
    {
      schema: {
        summary: 'The proposer revises its draft (the next revision, signed); the perimeter previews it',
        params: reviewParams,
        body: proposalBody,
        response: { 200: reviewStatus, ...errorResponses },
      },
    },
    async (request) => reviews.revise(requireParty(request), request.params.reviewId, request.body),
  );
  app.post(
    '/template-reviews/:reviewId/decisions',
    {
      schema: {
        summary: 'The seller comments, asks for changes, rejects, or sets the deadline (a signed decision)',
        params: reviewParams,
        body: reviewDecisionBody,
        response: { 200: reviewStatus, ...errorResponses },
      },
    },
    async (request) => reviews.decide(requireParty(request), request.params.reviewId, request.body),
  );
  app.post(
    '/template-reviews/:reviewId/approval',
    {
      schema: {
        summary:
          'The seller approves by signing the template (its price and allowed uses); it enters the catalog',
        params: reviewParams,
        body: approvalBody,
        response: { 200: reviewStatus, ...errorResponses },
      },
    },
    async (request) =>
      reviews.approve(
        requireParty(request),
        request.params.reviewId,
        request.body.template,
        request.body.signature,
      ),
  );
};
