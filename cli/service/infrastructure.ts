import { findOrInstallRedisServer } from '../../stack/redis-server';
import {
  freeLoopbackPorts,
  redisAnswers,
  redisServerArgs,
  temporalAnswers,
  temporalDevServerArgs,
} from '../../stack/launcher';
import { findOrInstallTemporalCli } from '../../stack/temporal-cli';
import { portIsFree } from './instance';
import type { ProcessSpec } from './supervisor';

const LOOPBACK = '127.0.0.1';

export interface InfrastructurePorts {
  temporal: number;
  ui: number;
  redis: number;
  /** The ports the last run of this home used: port 0 takes them again while they are free. */
  previous?: Partial<Record<'temporal' | 'ui' | 'redis', number>>;
}

export interface Infrastructure {
  specs: ProcessSpec[];
  temporalAddress: string;
  redisUrl: string;
  /** The Temporal Web UI, when this machine runs Temporal. */
  uiUrl?: string;
}

/**
 * Temporal (the CLI's dev server, with its Web UI, on loopback, history in a SQLite file under
 * `home`) and Redis, unless TEMPORAL_ADDRESS or REDIS_URL name ones that already run.
 */
export async function infrastructure(
  home: string,
  ports: InfrastructurePorts,
  log: (line: string) => void,
): Promise<Infrastructure> {
  const specs: ProcessSpec[] = [];
  const free = (port: number, name: 'temporal' | 'ui' | 'redis') => portToUse(port, ports.previous?.[name]);
  let temporalAddress = process.env.TEMPORAL_ADDRESS || '';
  let uiUrl: string | undefined;
  if (!temporalAddress) {
    const cli = await findOrInstallTemporalCli(log);
    const [port, ui] = [await free(ports.temporal, 'temporal'), await free(ports.ui, 'ui')];
    temporalAddress = `${LOOPBACK}:${port}`;
    uiUrl = `http://${LOOPBACK}:${ui}`;
    const address = temporalAddress;
    specs.push({
      name: 'temporal',
      argv: [cli, ...temporalDevServerArgs({ port, uiPort: ui, dataDir: home, headless: false })],
      env: {},
      ready: { probe: () => temporalAnswers(address) },
      shows: `${temporalAddress}, Web UI ${uiUrl}`,
    });
  } else log(`temporal: using TEMPORAL_ADDRESS=${temporalAddress}`);
  let redisUrl = process.env.REDIS_URL || '';
  if (!redisUrl) {
    const server = await findOrInstallRedisServer(log);
    const port = await free(ports.redis, 'redis');
    redisUrl = `redis://${LOOPBACK}:${port}`;
    const url = redisUrl;
    specs.push({
      name: 'redis',
      argv: [server, ...redisServerArgs({ port, dataDir: home })],
      env: {},
      ready: { probe: () => redisAnswers(url) },
      shows: redisUrl,
    });
  } else log(`redis: using REDIS_URL=${redisUrl}`);
  return { specs, temporalAddress, redisUrl, ...(uiUrl ? { uiUrl } : {}) };
}

/**
 * The port to listen on: the one asked for; for 0, the one this home used last time if it is still
 * free (so a perimeter started elsewhere keeps finding Temporal across restarts), else any free one.
 */
export async function portToUse(asked: number, previous: number | undefined): Promise<number> {
  if (asked !== 0) return asked;
  if (previous !== undefined && (await portIsFree(previous))) return previous;
  return (await freeLoopbackPorts(1))[0]!;
}
