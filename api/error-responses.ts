import { QueryNotRegisteredError, WorkflowNotFoundError } from '@temporalio/client';
import { errorBody } from './deals/schemas';
import { ApiError } from './errors';

/** The error answers every signed route may give, for the OpenAPI document. */
export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  422: errorBody,
};

/**
 * A workflow that does not exist, or is of another kind (it has no such query), is not found: an
 * id of one kind of resource used where another is expected. Anything else passes through.
 */
export function notFoundOr(error: unknown, what: string): unknown {
  if (error instanceof WorkflowNotFoundError || error instanceof QueryNotRegisteredError)
    return new ApiError('not_found', `no ${what}`);
  return error;
}
