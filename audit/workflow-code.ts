import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The workflow code every Tusk worker runs: replay pins it. */
export const WORKFLOWS_PATH = join(__dirname, '../workflows/index.ts');
export const FAILURE_CONVERTER_PATH = join(__dirname, '../lib/codec/failure-converter.cjs');
/** The checkout the workflow code lives in: webpack names modules relative to it. */
const CODE_ROOT = join(__dirname, '..');

export interface WorkflowCodeIdentity {
  /**
   * sha256 of the webpack bundle the SDK builds from workflows/index.ts with the history codec's
   * failure converter, as the workers run it (no absolute paths in it).
   */
  bundleHash: string;
  sdkVersion: string;
  workflowsPath: 'workflows/index.ts';
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let cached: Promise<WorkflowCodeIdentity> | undefined;
const bundles = new Map<string, Promise<{ code: string }>>();

/**
 * Bundles workflow code without printing webpack's module list. webpack's default context is the
 * working directory, and module names in the bundle are relative to it: without a fixed context the
 * hash depended on where the auditor stood.
 */
export async function quietWorkflowBundle(
  workflowsPath: string,
  failureConverterPath?: string,
): Promise<{ code: string }> {
  // The SDK's worker package (webpack, the native bridge) is loaded when code is bundled, not by
  // every CLI command that imports the audit.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  return bundleWorkflowCode({
    workflowsPath,
    ...(failureConverterPath ? { failureConverterPath } : {}),
    logger: quiet,
    webpackConfigHook: (config) => ({ ...config, context: CODE_ROOT }),
  });
}

/**
 * The same bundle, built once per process for each (workflows, failure converter) pair: webpack
 * spends seconds of CPU on each build, and a verifier replays many bundles against the same code
 * files. A failed build is forgotten, so the next call tries again.
 */
export function workflowBundleOnce(
  workflowsPath: string,
  failureConverterPath?: string,
): Promise<{ code: string }> {
  const key = `${resolve(workflowsPath)}\0${failureConverterPath ? resolve(failureConverterPath) : ''}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = quietWorkflowBundle(workflowsPath, failureConverterPath);
    bundles.set(key, bundle);
    bundle.catch(() => bundles.delete(key));
  }
  return bundle;
}

/**
 * Bundles the workflow code once per process (a few seconds) and names it by hash: the bundle the
 * workers run, with the history codec's failure converter, which is also the one the verifier replays
 * against, so a verifying process builds one bundle, not two.
 */
export function workflowCodeIdentity(): Promise<WorkflowCodeIdentity> {
  cached ??= workflowBundleOnce(WORKFLOWS_PATH, FAILURE_CONVERTER_PATH).then(({ code }) => ({
    bundleHash: `sha256:${createHash('sha256').update(code).digest('hex')}`,
    sdkVersion: (
      JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as {
        version: string;
      }
    ).version,
    workflowsPath: 'workflows/index.ts',
  }));
  return cached;
}
