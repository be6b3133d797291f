import path from 'node:path';

import { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';

import { findOrInstallRedisServer } from '../../stack/redis-server';
import {
  crashService,
  freeLoopbackPorts,
  spawnService,
  stopService,
  waitUntilReady,
  type StartedService,
} from '../../stack/launcher';
import { DEV_SERVER_TUNING, findOrInstallTemporalCli } from '../../stack/temporal-cli';

type Log = (line: string) => void;

/**
 * Temporal (on a file, so its state outlives a crash) and Redis (an append-only file synced on each
 * write, so queued notifications outlive one) on fixed loopback ports, each crashed by SIGKILL and
 * started again.
 */
export interface RestartableStack {
  temporalAddress: string;
  redisUrl: string;
  crashTemporal(): Promise<void>;
  crashRedis(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartableStack(dataDir: string, log: Log): Promise<RestartableStack> {
  const cli = await findOrInstallTemporalCli(log);
  const redisServer = await findOrInstallRedisServer(log);
  const [temporalPort, uiPort, redisPort] = await freeLoopbackPorts(3);
  const temporalAddress = `127.0.0.1:${temporalPort}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const startTemporal = async () => {
    const service = spawnService('temporal', temporalAddress, cli, dataDir, [
      ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', `${temporalPort}`],
      ...[
        '--ui-port',
        `${uiPort}`,
        '--db-filename',
        path.join(dataDir, 'temporal.sqlite'),
        '--log-level',
        'error',
      ],
      ...DEV_SERVER_TUNING,
    ]);
    await waitUntilReady(service, 'dev server', 90_000, log, temporalAnswers);
    return service;
  };
  const startRedis = async () => {
    const service = spawnService('redis', redisUrl, redisServer, dataDir, [
      ...['--bind', '127.0.0.1', '--port', `${redisPort}`, '--daemonize', 'no'],
      ...['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir],
    ]);
    await waitUntilReady(service, 'server', 20_000, log, redisAnswers);
    return service;
  };
  let temporal: StartedService = await startTemporal();
  let redis: StartedService;
  try {
    redis = await startRedis();
  } catch (error) {
    await stopService(temporal);
    throw error;
  }
  return {
    temporalAddress,
    redisUrl,
    crashTemporal: async () => {
      await crashService(temporal);
      temporal = await startTemporal();
    },
    crashRedis: async () => {
      await crashService(redis);
      redis = await startRedis();
    },
    stop: async () => {
      await Promise.all([stopService(temporal), stopService(redis)]);
    },
  };
}

async function temporalAnswers(address: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
  } finally {
    await connection.close();
  }
}

async function redisAnswers(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}
