import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  FAILURE_CONVERTER_PATH,
  WORKFLOWS_PATH,
  quietWorkflowBundle,
  workflowBundleOnce,
} from '../../audit/workflow-code';

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

/**
 * Workflow code to replay a history against or run a test worker on, with the history codec's
 * failure converter as every worker runs it: Tusk's own workflows from the run's shared bundle, a
 * fixture's built once per test file. Each build is seconds of webpack CPU; a suite replays dozens.
 */
export async function testWorkflowBundle(
  workflowsPath = WORKFLOWS_PATH,
): Promise<{ code: string } | { codePath: string }> {
  const shared = process.env.TUSK_WORKFLOW_BUNDLE;
  if (shared && resolve(workflowsPath) === WORKFLOWS_PATH) return { codePath: shared };
  return workflowBundleOnce(workflowsPath, FAILURE_CONVERTER_PATH);
}
