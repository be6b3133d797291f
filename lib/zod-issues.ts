import type { z } from 'zod';

/**
 * A zod error on one line, `path: message; …`, where it becomes a reason in an API answer or an
 * activity's refusal (clients match on it). Messages for people at a terminal use z.prettifyError.
 * `whole` names the value itself, for an issue with no path.
 */
export function issuesOnOneLine(error: z.ZodError, whole: string): string {
  return error.issues.map((issue) => `${issue.path.join('.') || whole}: ${issue.message}`).join('; ');
}
