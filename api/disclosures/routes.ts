import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireParty, requireRole } from '../auth';
import {
  decideDisclosureBody,
  disclosedFields,
  disclosureParams,
  disclosureStatus,
  viewDisclosureQuery,
  requestDisclosureBody,
} from './schemas';
import type { DisclosureService } from './service';
import { errorResponses } from '../error-responses';

export const disclosureRoutes: FastifyPluginAsyncZod<{ disclosures: DisclosureService }> = async (
  app,
  { disclosures },
) => {
  app.post(
    '/disclosures',
    {
      schema: {
        summary: "An auditor asks to see one deal's hidden fields (parties, amount), with a reason",
        body: requestDisclosureBody,
        response: { 200: disclosureStatus, 201: disclosureStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { created, status } = await disclosures.request(requireRole(request, 'auditor'), request.body);
      return reply.status(created ? 201 : 200).send(status);
    },
  );

  app.get(
    '/disclosures/:disclosureId',
    {
      schema: {
        summary: "A disclosure's status and audit trail (its auditor, compliance, the operator)",
        params: disclosureParams,
        response: { 200: disclosureStatus, ...errorResponses },
      },
    },
    (request) => disclosures.visibleStatus(requireParty(request), request.params.disclosureId),
  );

  app.post(
    '/disclosures/:disclosureId/decisions',
    {
      schema: {
        summary: 'Approve or deny (compliance): two distinct approvals open the view; one denial ends it',
        params: disclosureParams,
        body: decideDisclosureBody,
        response: { 200: disclosureStatus, ...errorResponses },
      },
    },
    (request) => disclosures.decide(requireParty(request), request.params.disclosureId, request.body),
  );

  app.get(
    '/disclosures/:disclosureId/view',
    {
      schema: {
        summary:
          'The disclosed fields, for the auditor who asked, until the view expires (each view recorded)',
        params: disclosureParams,
        querystring: viewDisclosureQuery,
        response: { 200: disclosedFields, ...errorResponses },
      },
    },
    (request) => disclosures.view(requireParty(request), request.params.disclosureId, request.query),
  );
};
