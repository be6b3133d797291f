import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import { findOnPath, isExecutable } from './temporal-cli';

type Log = (line: string) => void;

const DEBIAN_REDIS_SERVER = '/usr/bin/redis-server';

export async function findOrInstallRedisServer(log: Log): Promise<string> {
  const found = await findRedisServer();
  if (found) return found;

  const canApt =
    process.getuid?.() === 0 && existsSync('/etc/debian_version') && (await findOnPath('apt-get'));
  if (!canApt) {
    throw new Error(
      'no redis-server found: install redis-server (e.g. apt-get install redis-server) or set REDIS_URL',
    );
  }

  log('redis: installing redis-server with apt-get (first time only)…');
  try {
    await installWithAptGet('redis-server');
  } catch (error) {
    throw new Error(`${(error as Error).message}\ninstall redis-server or set REDIS_URL`);
  }

  const afterInstall = await findRedisServer();
  if (!afterInstall) throw new Error('apt-get installed redis-server but it is not on PATH; set REDIS_URL');
  return afterInstall;
}

async function findRedisServer(): Promise<string | undefined> {
  const onPath = await findOnPath('redis-server');
  if (onPath) return onPath;
  return (await isExecutable(DEBIAN_REDIS_SERVER)) ? DEBIAN_REDIS_SERVER : undefined;
}

/** `apt-get install -y <name>`, refreshing the package lists first only when the install needs it. */
export async function installWithAptGet(name: string): Promise<void> {
  const installed = await runAptGet(['install', '-y', name]);
  if (installed.ok) return;
  // A fresh container has empty package lists.
  const updated = await runAptGet(['update']);
  const retried = updated.ok ? await runAptGet(['install', '-y', name]) : updated;
  if (!retried.ok) throw new Error(`apt-get could not install ${name}:\n${retried.outputTail}`);
}

async function runAptGet(args: string[]): Promise<{ ok: boolean; outputTail: string }> {
  const output: string[] = [];
  const child = spawn('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer): void => {
    output.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    output.splice(0, Math.max(0, output.length - 20));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { ok: exitCode === 0, outputTail: output.join('\n') };
}
