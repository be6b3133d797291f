import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';

import { startStack } from '../../stack/launcher';

describe('local stack', () => {
  const temporalAddress = inject('temporalAddress');
  const redisUrl = inject('redisUrl');

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('passes the addresses to test workers through the environment too', () => {
    expect(process.env.TEMPORAL_ADDRESS).toBe(temporalAddress);
    expect(process.env.REDIS_URL).toBe(redisUrl);
  });

  it('serves Temporal at the provided address', async () => {
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      await connection.close();
    }
  });

  it('serves Redis at the provided URL', async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('starts nothing when both addresses are given', async () => {
    vi.stubEnv('TEMPORAL_ADDRESS', temporalAddress);
    vi.stubEnv('REDIS_URL', redisUrl);
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tusk-test-stack-'));
    const lines: string[] = [];
    try {
      const stack = await startStack({ dataDir, log: (line) => lines.push(line) });
      expect(stack.temporalAddress).toBe(temporalAddress);
      expect(stack.redisUrl).toBe(redisUrl);
      expect(await readdir(dataDir)).toEqual([]); // no service logs: nothing was spawned
      expect(lines).toEqual([
        `temporal: using TEMPORAL_ADDRESS=${temporalAddress}`,
        `redis: using REDIS_URL=${redisUrl}`,
      ]);
      await stack.stop();
      await stack.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
