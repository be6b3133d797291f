import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError, errorCatalogue, type ErrorCode } from './errors';
import { notFoundOr } from './error-responses';

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
};

function describe(error: FastifyError): { code: ErrorCode; reason: string } {
  if (error instanceof ApiError) return { code: error.code, reason: error.reason };
  // An id of another kind of workflow, or none: whatever route asked, the answer is 404.
  const notFound = notFoundOr(error, 'such resource');
  if (notFound instanceof ApiError) return { code: notFound.code, reason: notFound.reason };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => {
      const where = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
      return `${error.validationContext ?? 'request'}${where ? `.${where}` : ''}: ${issue.message}`;
    });
    return { code: 'invalid_request', reason: issues.join('; ') };
  }
  const known = error.code ? fastifyCodes[error.code] : undefined;
  if (known) return { code: known, reason: error.message };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { code: 'invalid_request', reason: error.message };
  }
  if (error.constructor.name === 'ServiceError' || /UNAVAILABLE|ECONNREFUSED/.test(error.message)) {
    return { code: 'temporal_unavailable', reason: 'the workflow service is unavailable; try again shortly' };
  }
  return { code: 'internal', reason: 'internal error' };
}

/** One mapping from any error to `{ code, reason }`; a 5xx never says more than its code. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, reason } = describe(error);
    const status = errorCatalogue[code];
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send({ code, reason });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'not_found', reason: `no route ${request.method} ${request.url}` }),
  );
}
