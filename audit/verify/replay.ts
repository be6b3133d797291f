import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { SignedBundle } from '../bundle';
import {
  FAILURE_CONVERTER_PATH,
  WORKFLOWS_PATH,
  workflowBundleOnce,
  workflowCodeIdentity,
} from '../workflow-code';
import { finding, ok, type CheckResult } from './report';

/**
 * Replays every recorded run against the pinned workflow code: a history with an event removed, a
 * command's order changed or code that is not the code that ran fails with the SDK's own error.
 */
export async function replayRuns(
  bundle: SignedBundle,
  workflowsPath = WORKFLOWS_PATH,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const histories = [];
  for (const run of bundle.body.runs) {
    try {
      histories.push({ workflowId: run.workflowId, history: historyFromJSON(run.history) });
    } catch (error) {
      results.push(
        finding(
          `replay ${run.workflowId} (${run.runId})`,
          `the history does not parse: ${(error as Error).message}`,
        ),
      );
    }
  }
  // Loaded here, not by every CLI command that imports the verifier (webpack, the native bridge).
  const sdk = await import('@temporalio/worker');
  quietRuntime(sdk);
  const { Worker } = sdk;
  const replays = Worker.runReplayHistories(
    {
      workflowBundle: await workflowBundleOnce(workflowsPath, FAILURE_CONVERTER_PATH),
      dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
      replayName: 'tusk-audit',
    },
    histories,
  );
  for await (const replay of replays) {
    const check = `replay ${replay.workflowId} (${replay.runId})`;
    results.push(
      replay.error
        ? finding(check, `${replay.error.name}: ${replay.error.message.split('\n')[0]}`)
        : ok(check),
    );
  }
  return results;
}

/**
 * The replay worker's state changes are the SDK's INFO lines; an auditor's terminal shows only the
 * checks. A process that already runs workers (a test, the demo's own) keeps the runtime it has.
 */
function quietRuntime({ Runtime, DefaultLogger }: typeof import('@temporalio/worker')): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already: its logger stays.
  }
}

/** The workflow code here is the code the operator ran, by bundle hash and SDK version. */
export async function checkWorkflowCode(bundle: SignedBundle): Promise<CheckResult> {
  const here = await workflowCodeIdentity();
  const pinned = bundle.body.workflowCode;
  if (here.bundleHash !== pinned.bundleHash || here.sdkVersion !== pinned.sdkVersion)
    return finding(
      'workflow code',
      `the code here (${here.bundleHash}, SDK ${here.sdkVersion}) is not the code the deal ran (${pinned.bundleHash}, SDK ${pinned.sdkVersion}); check out the release that ran it`,
    );
  return ok('workflow code', `${pinned.bundleHash}, SDK ${pinned.sdkVersion}`);
}
