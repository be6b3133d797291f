import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CliError } from '../common';

/**
 * One `tusk up` per home. The lock is a file created exclusively (O_EXCL, the operating system's own
 * primitive) holding the supervisor's pid; a lock whose pid no longer runs is stale and taken over.
 */
export const lockFile = (home: string) => join(home, 'up.lock');
export const statusFile = (home: string) => join(home, 'up.json');

/** What `tusk up` keeps in up.json for `tusk status`, `tusk down` and the other commands. */
export interface ServiceAddresses {
  api?: string;
  temporal?: string;
  ui?: string;
  redis?: string;
}

export interface UpFile {
  pid?: number;
  addresses?: ServiceAddresses;
  processes: { name: string; pid: number | null; state: string; restarts: number; shows: string }[];
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the `tusk up` that holds this home, if one runs. */
export async function runningInstance(home: string): Promise<number | undefined> {
  const text = await readFile(lockFile(home), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && isRunning(pid) ? pid : undefined;
}

/** Claims the home for this process; refuses while another `tusk up` holds it. Released on exit. */
export async function claimHome(home: string): Promise<() => void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile(home), 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      const release = () => releaseHome(home);
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = await runningInstance(home);
      if (pid !== undefined)
        throw new CliError(
          `tusk up is already running for ${home} (pid ${pid}): \`tusk status\` shows it, \`tusk down\` stops it`,
        );
      // Stale: its process is gone (killed, or the machine restarted).
      await unlink(lockFile(home)).catch(() => undefined);
    }
  }
  throw new CliError(`could not claim ${lockFile(home)}: another tusk up is starting`);
}

function releaseHome(home: string): void {
  try {
    if (readFileSync(lockFile(home), 'utf8').trim() === String(process.pid)) unlinkSync(lockFile(home));
  } catch {
    // already gone
  }
}

export async function readUpFile(home: string): Promise<UpFile | undefined> {
  try {
    return JSON.parse(await readFile(statusFile(home), 'utf8')) as UpFile;
  } catch {
    return undefined;
  }
}

/** Whether a loopback port can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The port an address (host:port or URL) names, if any. */
export function portOf(address: string | undefined): number | undefined {
  const match = address ? /:(\d+)\/?$/.exec(address) : null;
  return match ? Number(match[1]) : undefined;
}
