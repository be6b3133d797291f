import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../..');
// By path: `--import tsx` would be looked up from the child's working directory.
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

export interface Service {
  name: string;
  process: ChildProcess;
  logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone, saying which it took. */
  stop(): Promise<Shutdown>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<Shutdown>;
}

/** How a process ended: on its own after SIGTERM, or only by SIGKILL. */
export type Shutdown = 'graceful' | 'killed' | 'already-exited';

export interface ServiceSpec {
  name: string;
  /** Script path relative to the repo root, e.g. workers/perimeter.ts */
  script: string;
  env: Record<string, string>;
  logDir: string;
  readyTimeoutMs?: number;
  /** The name the process announces itself by, when several run under different names. */
  readyAs?: string;
  /** The Node binary to run it on; default: this process's. */
  node?: string;
  /** Working directory; default: the repo root. */
  cwd?: string;
  /** Run with `env` alone (plus PATH), not on top of this process's environment. */
  isolatedEnv?: boolean;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });

/** Starts one Tusk process and waits for its `tusk <name> ready` line. */
export async function startService(spec: ServiceSpec): Promise<Service> {
  const logFile = join(spec.logDir, `${spec.name.replaceAll(' ', '-')}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // node itself, not the tsx launcher: a signal must reach the worker, not a wrapper around it.
  const child = spawn(spec.node ?? process.execPath, ['--import', TSX_LOADER, join(ROOT, spec.script)], {
    cwd: spec.cwd ?? ROOT,
    env: spec.isolatedEnv
      ? { PATH: process.env.PATH ?? '/usr/bin:/bin', ...spec.env }
      : { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const stop = async (signal: NodeJS.Signals, graceMs: number): Promise<Shutdown> => {
    if (child.exitCode !== null || child.signalCode !== null) return 'already-exited';
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited(child);
    clearTimeout(timer);
    return child.signalCode === 'SIGKILL' ? 'killed' : 'graceful';
  };
  const service: Service = {
    name: spec.name,
    process: child,
    logFile,
    stop: () => stop('SIGTERM', 10_000),
    kill: () => stop('SIGKILL', 0),
  };
  await new Promise<void>((ready, fail) => {
    let seen = '';
    const timer = setTimeout(
      () =>
        fail(
          new Error(`${spec.name} was not ready within ${spec.readyTimeoutMs ?? 60_000} ms; see ${logFile}`),
        ),
      spec.readyTimeoutMs ?? 60_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`tusk ${spec.readyAs ?? spec.name} ready`)) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${spec.name} exited with code ${code} before it was ready; see ${logFile}`));
    });
  }).catch(async (error: unknown) => {
    await service.kill();
    throw error;
  });
  return service;
}
