import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { TestProject } from 'vitest/node';

import { startStack } from '../../scripts/lib/stack';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tusk-test-stack-'));
  try {
    const stack = await startStack({ dataDir });
    process.env.TEMPORAL_ADDRESS = stack.temporalAddress;
    process.env.REDIS_URL = stack.redisUrl;
    project.provide('temporalAddress', stack.temporalAddress);
    project.provide('redisUrl', stack.redisUrl);
    return async () => {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
