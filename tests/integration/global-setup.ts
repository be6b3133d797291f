import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { TestProject } from 'vitest/node';

import { findOrBuildWeed } from '../../scripts/lib/seaweedfs';
import { findOrInstallTestServer } from '../../scripts/lib/temporal-test-server';
import { startStack } from '../../stack/launcher';
import { shareWorkflowBundle } from '../support/workflow-bundle';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tusk-test-stack-'));
  try {
    const stack = await startStack({ dataDir });
    process.env.TEMPORAL_ADDRESS = stack.temporalAddress;
    process.env.REDIS_URL = stack.redisUrl;
    await shareWorkflowBundle(dataDir);
    project.provide('temporalAddress', stack.temporalAddress);
    project.provide('redisUrl', stack.redisUrl);
    // Built here, once per machine (minutes the first time): a test hook's timeout would cut it short.
    // Only the S3 tests need it, so a failed build fails those alone, with the reason.
    const weed = await findOrBuildWeed((line) => console.error(line)).then(
      (path) => ({ path, problem: '' }),
      (error: unknown) => ({ path: '', problem: (error as Error).message }),
    );
    project.provide('seaweedfsWeed', weed.path);
    project.provide('seaweedfsProblem', weed.problem);
    // The same for the timer tests' time-skipping server (Maven, once per machine).
    const testServer = await findOrInstallTestServer((line) => console.error(line)).then(
      (path) => ({ path, problem: '' }),
      (error: unknown) => ({ path: '', problem: (error as Error).message }),
    );
    project.provide('timeSkippingServer', testServer.path);
    project.provide('timeSkippingProblem', testServer.problem);
    return async () => {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
