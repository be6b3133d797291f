import { findOrInstallRedisServer } from '../../stack/redis-server';
import {
  crashService,
  freeLoopbackPorts,
  redisAnswers,
  redisServerArgs,
  spawnService,
  stopService,
  temporalAnswers,
  temporalDevServerArgs,
  waitUntilReady,
  type StartedService,
} from '../../stack/launcher';
import { findOrInstallTemporalCli } from '../../stack/temporal-cli';

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
    const args = temporalDevServerArgs({ port: temporalPort!, uiPort: uiPort!, dataDir, headless: true });
    const service = spawnService('temporal', temporalAddress, cli, dataDir, args);
    await waitUntilReady(service, 'dev server', 90_000, log, temporalAnswers);
    return service;
  };
  const startRedis = async () => {
    const args = redisServerArgs({ port: redisPort!, dataDir, durable: true });
    const service = spawnService('redis', redisUrl, redisServer, dataDir, args);
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
