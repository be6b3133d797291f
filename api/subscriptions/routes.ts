import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decisionProof } from '../signed-decision';
import { ACCESS_TOKEN_HEADER } from '../../lib/access-token';
import { requireParty, requireRole } from '../auth';
import { subscriptionAsSeenBy } from '../redaction';
import { accepted } from '../common-schemas';
import type { SubscriptionService } from './service';
import {
  concedePeriodBody,
  createSubscriptionBody,
  disputePeriodBody,
  deliveryParams,
  paymentReadyBody,
  periodDelivery,
  sealedAccessToken,
  subscriptionParams,
  subscriptionStatus,
} from './schemas';
import { errorResponses } from '../error-responses';

export const subscriptionRoutes: FastifyPluginAsyncZod<{ subscriptions: SubscriptionService }> = async (
  app,
  { subscriptions },
) => {
  app.post(
    '/subscriptions',
    {
      schema: {
        summary: "Subscribe to a seller's templates: charged, rotated and delivered every period",
        body: createSubscriptionBody,
        response: { 200: subscriptionStatus, 201: subscriptionStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await subscriptions.create(requireRole(request, 'buyer'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/subscriptions/:subscriptionId',
    {
      schema: {
        summary: "A subscription's status: period, next renewal, tokens, deliveries",
        params: subscriptionParams,
        response: { 200: subscriptionStatus, ...errorResponses },
      },
    },
    (request) => subscriptions.visibleStatus(requireParty(request), request.params.subscriptionId),
  );

  app.post(
    '/subscriptions/:subscriptionId/cancel',
    {
      schema: {
        summary: 'End the subscription at the current period end (its buyer, signed over its scope)',
        params: subscriptionParams,
        body: decisionProof,
        response: { 200: subscriptionStatus, ...errorResponses },
      },
    },
    (request) => subscriptions.cancel(requireParty(request), request.params.subscriptionId, request.body),
  );

  app.post(
    '/subscriptions/:subscriptionId/payment-ready',
    {
      schema: {
        summary:
          'In a grace window: the buyer has topped up, try the charge again now (signed over its scope and period)',
        params: subscriptionParams,
        body: paymentReadyBody,
        response: { 202: accepted, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(
          await subscriptions.paymentReady(
            requireParty(request),
            request.params.subscriptionId,
            request.body,
          ),
        ),
  );

  app.post(
    '/subscriptions/:subscriptionId/dispute',
    {
      schema: {
        summary:
          "Dispute a delivered period before its end (its buyer, signed over its scope, the period's escrow and the reason): its payout is held",
        params: subscriptionParams,
        body: disputePeriodBody,
        response: { 200: subscriptionStatus, ...errorResponses },
      },
    },
    async (request) =>
      subscriptionAsSeenBy(
        requireParty(request),
        await subscriptions.disputePeriod(requireParty(request), request.params.subscriptionId, request.body),
      ),
  );

  app.post(
    '/subscriptions/:subscriptionId/concede',
    {
      schema: {
        summary:
          "Concede a disputed period (its seller's signed refund_consent of the period's escrow): the period is refunded",
        params: subscriptionParams,
        body: concedePeriodBody,
        response: { 200: subscriptionStatus, ...errorResponses },
      },
    },
    async (request) =>
      subscriptionAsSeenBy(
        requireParty(request),
        await subscriptions.concedePeriod(requireParty(request), request.params.subscriptionId, request.body),
      ),
  );

  app.get(
    '/subscriptions/:subscriptionId/token',
    {
      schema: {
        summary: "The current period's access token, sealed to the buyer's key (its buyer)",
        params: subscriptionParams,
        response: { 200: sealedAccessToken, ...errorResponses },
      },
    },
    (request) => subscriptions.sealedToken(requireParty(request), request.params.subscriptionId),
  );

  app.get(
    '/subscriptions/:subscriptionId/deliveries/:period',
    {
      schema: {
        summary: `A period's sealed results; needs a working access token in ${ACCESS_TOKEN_HEADER}`,
        params: deliveryParams,
        response: { 200: periodDelivery, ...errorResponses },
      },
    },
    (request) => {
      const token = request.headers[ACCESS_TOKEN_HEADER];
      return subscriptions.delivery(
        requireParty(request),
        request.params.subscriptionId,
        request.params.period,
        typeof token === 'string' ? token : undefined,
      );
    },
  );
};
