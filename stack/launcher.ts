import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';

import { SEARCH_ATTRIBUTES } from '../lib/search-attributes';
import { findOrInstallRedisServer } from './redis-server';
import { DEV_SERVER_TUNING, findOrInstallTemporalCli } from './temporal-cli';

export interface Stack {
  temporalAddress: string;
  redisUrl: string;
  stop(): Promise<void>;
}

type Log = (line: string) => void;

export interface StartedService {
  name: string;
  address: string;
  child: ChildProcess;
  logFile: string;
  spawnError?: Error;
}

const LOOPBACK = '127.0.0.1';
const TEMPORAL_READY_TIMEOUT_MS = 90_000;
const REDIS_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

export async function startStack(opts: { dataDir: string; log?: Log }): Promise<Stack> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const started: StartedService[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((service) => stopService(service)));
  };

  const temporalFromEnv = process.env.TEMPORAL_ADDRESS || undefined;
  const redisFromEnv = process.env.REDIS_URL || undefined;
  if (temporalFromEnv) log(`temporal: using TEMPORAL_ADDRESS=${temporalFromEnv}`);
  if (redisFromEnv) log(`redis: using REDIS_URL=${redisFromEnv}`);

  await mkdir(opts.dataDir, { recursive: true });
  const temporalCli = temporalFromEnv ? undefined : await findOrInstallTemporalCli(log);
  const redisServer = redisFromEnv ? undefined : await findOrInstallRedisServer(log);

  try {
    const readiness: Promise<void>[] = [];
    if (temporalCli) {
      const temporal = await spawnTemporalDevServer(temporalCli, opts.dataDir);
      started.push(temporal);
      readiness.push(waitUntilReady(temporal, 'dev server', TEMPORAL_READY_TIMEOUT_MS, log, temporalAnswers));
    }
    if (redisServer) {
      const redis = await spawnRedisServer(redisServer, opts.dataDir);
      started.push(redis);
      readiness.push(waitUntilReady(redis, 'server', REDIS_READY_TIMEOUT_MS, log, redisAnswers));
    }
    await Promise.all(readiness);
  } catch (error) {
    await stopAll();
    throw error;
  }

  const temporalAddress = temporalFromEnv ?? addressOf(started, 'temporal');
  const redisUrl = redisFromEnv ?? addressOf(started, 'redis');
  let stopping: Promise<void> | undefined;
  return {
    temporalAddress,
    redisUrl,
    stop: async () => {
      stopping ??= stopAll();
      await stopping;
    },
  };
}

export async function freeLoopbackPorts(count: number): Promise<number[]> {
  // Hold every listener open until all ports are read, so the same port is never handed out twice.
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, LOOPBACK, resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('could not read a bound port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

async function spawnTemporalDevServer(cli: string, dataDir: string): Promise<StartedService> {
  const [port, uiPort] = await freeLoopbackPorts(2);
  const args = temporalDevServerArgs({ port: port!, uiPort: uiPort!, dataDir, headless: true });
  return spawnService('temporal', `${LOOPBACK}:${port}`, cli, dataDir, args);
}

async function spawnRedisServer(server: string, dataDir: string): Promise<StartedService> {
  const [port] = await freeLoopbackPorts(1);
  return spawnService(
    'redis',
    `redis://${LOOPBACK}:${port}`,
    server,
    dataDir,
    redisServerArgs({ port: port!, dataDir }),
  );
}

/**
 * The arguments of the Temporal CLI's dev server on loopback, its history in a SQLite file under
 * `dataDir` (so it outlives a restart), with Tusk's search attributes declared.
 */
export function temporalDevServerArgs(options: {
  port: number;
  uiPort: number;
  dataDir: string;
  /** Without the Web UI (scripts); `tusk up` shows it. */
  headless: boolean;
}): string[] {
  const { port, uiPort, dataDir } = options;
  return [
    ...['server', 'start-dev', ...(options.headless ? ['--headless'] : []), '--ip', LOOPBACK],
    ...['--port', `${port}`, '--ui-port', `${uiPort}`],
    ...['--db-filename', path.join(dataDir, 'temporal.sqlite'), '--log-level', 'error'],
    ...DEV_SERVER_TUNING,
    // GET /deals lists lifecycles through these (lib/search-attributes.ts).
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
}

/**
 * The arguments of a Redis server on loopback. It holds BullMQ jobs and rate-limit counters: no
 * snapshots; an append-only file synced on each write only when `durable` (the soak crashes it).
 */
export function redisServerArgs(options: { port: number; dataDir: string; durable?: boolean }): string[] {
  const persistence = options.durable
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  return [
    ...['--bind', LOOPBACK, '--port', `${options.port}`, '--daemonize', 'no'],
    ...['--save', '', ...persistence, '--dir', options.dataDir],
  ];
}

/**
 * Starts a server in its own process group, output to `<dataDir>/<name>.log`. Unless `outliveCaller`,
 * it is stopped when the caller exits.
 */
export function spawnService(
  name: string,
  address: string,
  command: string,
  dataDir: string,
  args: string[],
  options: { outliveCaller?: boolean; env?: NodeJS.ProcessEnv } = {},
): StartedService {
  const logFile = path.join(dataDir, `${name}.log`);
  const logFd = openSync(logFile, 'w');
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: options.env ?? process.env,
    });
    child.unref();
    if (!options.outliveCaller) trackUntilExit(child);
    const service: StartedService = { name, address, child, logFile };
    child.once('error', (error) => {
      service.spawnError = error;
    });
    return service;
  } finally {
    closeSync(logFd);
  }
}

export async function waitUntilReady(
  service: StartedService,
  what: string,
  timeoutMs: number,
  log: Log,
  answers: (address: string) => Promise<void>,
): Promise<void> {
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  let lastProbeError: unknown;
  while (Date.now() < deadline) {
    const exited = describeExit(service);
    if (exited) throw await notReadyError(service, what, exited);
    try {
      await answers(service.address);
      log(
        `${service.name}: ${what} on ${service.address} (ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
      );
      return;
    } catch (error) {
      lastProbeError = error;
    }
    await sleep(250);
  }
  const lastError = lastProbeError instanceof Error ? `; last error: ${lastProbeError.message}` : '';
  throw await notReadyError(service, what, `did not answer within ${timeoutMs / 1000} s${lastError}`);
}

export async function temporalAnswers(address: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
  } finally {
    await connection.close();
  }
}

export async function redisAnswers(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // failures surface through connect() and ping()
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

function describeExit(service: StartedService): string | undefined {
  if (service.spawnError) return `could not be started: ${service.spawnError.message}`;
  const { exitCode, signalCode } = service.child;
  if (exitCode !== null) return `exited with code ${exitCode}`;
  if (signalCode !== null) return `was killed by ${signalCode}`;
  return undefined;
}

async function notReadyError(service: StartedService, what: string, reason: string): Promise<Error> {
  const tail = await logTail(service.logFile, 20);
  return new Error(
    `${service.name}: ${what} on ${service.address} ${reason}\nlog: ${service.logFile}` +
      (tail ? `\n--- last lines ---\n${tail}` : ' (empty)'),
  );
}

export async function logTail(file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function stopService(service: StartedService): Promise<void> {
  const { child } = service;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the event loop alive until the exit is seen
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const escalation = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(escalation);
    child.unref();
  }
}

/** Kills a server and its process group at once (SIGKILL), as a crash or power loss would. */
export async function crashService(service: StartedService): Promise<void> {
  const { child } = service;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGKILL');
  try {
    await exited;
  } finally {
    child.unref();
  }
}

// Children run in their own process groups: a caller that crashes, or a Ctrl-C on the caller's
// terminal, would otherwise leave them running.
const runningChildren = new Set<ChildProcess>();

function trackUntilExit(child: ChildProcess): void {
  if (runningChildren.size === 0) {
    process.on('exit', killRunningChildrenNow);
    process.on('SIGINT', stopChildrenAndDie);
    process.on('SIGTERM', stopChildrenAndDie);
  }
  runningChildren.add(child);
  const untrack = (): void => {
    runningChildren.delete(child);
    if (runningChildren.size === 0) stopTrackingChildren();
  };
  child.once('exit', untrack);
  child.once('error', untrack);
}

function stopTrackingChildren(): void {
  process.off('exit', killRunningChildrenNow);
  process.off('SIGINT', stopChildrenAndDie);
  process.off('SIGTERM', stopChildrenAndDie);
}

function killRunningChildrenNow(): void {
  runningChildren.forEach((child) => signalGroup(child, 'SIGKILL'));
}

function stopChildrenAndDie(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the caller handles it and will call stop()
  runningChildren.forEach((child) => signalGroup(child, 'SIGTERM'));
  stopTrackingChildren();
  process.kill(process.pid, signal);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

function addressOf(started: StartedService[], name: string): string {
  const service = started.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`${name} was neither configured nor started`);
  return service.address;
}
