import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The workflow code every Tusk worker runs: replay pins it. */
export const WORKFLOWS_PATH = join(__dirname, '../workflows/index.ts');
export const FAILURE_CONVERTER_PATH = join(__dirname, '../lib/codec/failure-converter.cjs');
/** The checkout the workflow code lives in: webpack names modules relative to it. */
const CODE_ROOT = join(__dirname, '..');

export interface WorkflowCodeIdentity {
  /** sha256 of the webpack bundle the SDK builds from workflows/index.ts (no absolute paths in it). */
  bundleHash: string;
  sdkVersion: string;
  workflowsPath: 'workflows/index.ts';
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let cached: Promise<WorkflowCodeIdentity> | undefined;

/**
 * Bundles workflow code without printing webpack's module list. webpack's default context is the
 * working directory, and module names in the bundle are relative to it: without a fixed context the
 * hash depended on where the auditor stood.
 */
export async function quietWorkflowBundle(
  workflowsPath: string,
  failureConverterPath?: string,
): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath,
    ...(failureConverterPath ? { failureConverterPath } : {}),
    logger: quiet,
    webpackConfigHook: (config) => ({ ...config, context: CODE_ROOT }),
  });
}

/** Bundles the workflow code once per process (a few seconds) and names it by hash. */
export function workflowCodeIdentity(): Promise<WorkflowCodeIdentity> {
  cached ??= quietWorkflowBundle(WORKFLOWS_PATH).then(({ code }) => ({
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
