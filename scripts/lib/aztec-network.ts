import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { aztecToolchain } from '../../contracts/toolchain';
import { spawnService, stopService, waitUntilReady, type StartedService } from '../../stack/launcher';

const ROOT = resolve(__dirname, '../..');
type Log = (line: string) => void;

/** The local network takes 70–90 s to deploy its L1 contracts and test accounts; allow for a busy machine. */
export const AZTEC_READY_TIMEOUT_MS = 300_000;
export const DEFAULT_AZTEC_NODE_URL = 'http://127.0.0.1:8080';

/** Throws unless an Aztec node answers JSON-RPC at `url` (used as a readiness probe). */
export async function aztecNodeAnswers(url: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_getBlockNumber', params: [] }),
    signal: AbortSignal.timeout(2_000),
  });
  const body = (await response.json()) as { result?: unknown };
  if (body.result === undefined) throw new Error(`no block number from ${url}`);
}

export const isAztecNodeUp = (url: string) =>
  aztecNodeAnswers(url).then(
    () => true,
    () => false,
  );

/**
 * Installs the Aztec toolchain if it is missing (scripts/aztec/setup.sh, idempotent), showing its
 * progress. The first time takes a few minutes and about 1.3 GB.
 */
export async function ensureAztecToolchain(log: Log): Promise<void> {
  if (aztecToolchain().installed) return;
  log('installing the Aztec toolchain (first time only: a few minutes, about 1.3 GB)…');
  const child = spawn('bash', [join(ROOT, 'scripts/aztec/setup.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('[aztec:setup')) log(line);
  };
  const tail: string[] = [];
  child.stdout.on('data', relay);
  child.stderr.on('data', (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n'));
    tail.splice(0, Math.max(0, tail.length - 20));
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) throw new Error(`npm run aztec:setup failed (exit ${code}):\n${tail.join('\n')}`);
}

export interface AztecNetwork {
  url: string;
  pid: number;
  /** Milliseconds from start until the node answered. */
  startupMs: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts a local network (anvil + Aztec node, scripts/aztec/local-network.sh) on 127.0.0.1 in its own
 * process group and waits until the node answers. Stopping signals the whole group. With
 * `outliveCaller` it keeps running after this process exits (npm run aztec:up).
 */
export async function startAztecNetwork(options: {
  port: number;
  anvilPort: number;
  dataDir: string;
  log?: Log;
  outliveCaller?: boolean;
}): Promise<AztecNetwork> {
  const log = options.log ?? ((line: string) => console.error(line));
  await mkdir(options.dataDir, { recursive: true });
  const url = `http://127.0.0.1:${options.port}`;
  const started = performance.now();
  const service: StartedService = spawnService(
    'aztec',
    url,
    'bash',
    options.dataDir,
    [join(ROOT, 'scripts/aztec/local-network.sh'), `${options.port}`, `${options.anvilPort}`],
    { outliveCaller: options.outliveCaller },
  );
  try {
    await waitUntilReady(service, 'local network', AZTEC_READY_TIMEOUT_MS, log, aztecNodeAnswers);
  } catch (error) {
    await stopService(service);
    throw error;
  }
  return {
    url,
    pid: service.child.pid!,
    startupMs: performance.now() - started,
    logFile: service.logFile,
    stop: () => stopService(service),
  };
}
