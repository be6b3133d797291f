import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAILURE_CONVERTER_PATH, WORKFLOWS_PATH, quietWorkflowBundle } from '../../audit/workflow-code';

/**
 * Builds the deals worker's workflow bundle once into `directory` and points every deals worker
 * started from this process on (they inherit the environment) at it: a test run starts dozens of
 * deployments, and each would otherwise spend about 10 s of CPU in webpack on the same code.
 */
export async function shareWorkflowBundle(directory: string): Promise<string> {
  const path = join(directory, 'workflow-bundle.js');
  const { code } = await quietWorkflowBundle(WORKFLOWS_PATH, FAILURE_CONVERTER_PATH);
  await writeFile(path, code);
  process.env.TUSK_WORKFLOW_BUNDLE = path;
  return path;
}
