import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** A mistake the user can fix: printed as one line, with an exit code, never a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export const home = (flag?: string) => resolve(flag ?? process.env.TUSK_HOME ?? '.tusk');
export const apiUrl = (flag?: string) => flag ?? process.env.TUSK_API_URL ?? 'http://127.0.0.1:8787';

export const keyPaths = (homeDir: string, partyId: string) => ({
  signing: join(homeDir, 'keys', `${partyId}.ed25519.pem`),
  result: join(homeDir, 'keys', `${partyId}.x25519.pem`),
});

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new CliError(`${what} not found at ${path}`);
  }
}

/** Writes beside the target, then renames: a crash never leaves a half-written file. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

export function required(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what}`);
  return value;
}
