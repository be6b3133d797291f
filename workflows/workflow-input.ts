import { patched } from '@temporalio/workflow';
import { z } from 'zod';
import { refusal } from './refusals';

/**
 * Checks a workflow's input against its capability's schema before anything happens, so an input
 * that does not have the shape the API would send (a workflow started by hand on Temporal) fails at
 * once with a typed `InvalidInput` refusal naming every problem, instead of partway through.
 * The check only refuses: the workflow goes on with the input as given, never a parsed copy.
 * Runs started before the check (patch `parse-workflow-input`) replay without it.
 */
export function checkWorkflowInput(schema: z.ZodType, input: unknown, workflow: string): void {
  if (!patched('parse-workflow-input')) return;
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw refusal(
      'InvalidInput',
      `the ${workflow} workflow's input is malformed:\n${z.prettifyError(parsed.error)}`,
    );
}
