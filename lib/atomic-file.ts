import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import atomicWrite from 'write-file-atomic';

/**
 * Writes a temporary file beside the target, syncs and renames it (write-file-atomic): a crash never
 * leaves a half-written file. Makes the folder first.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await atomicWrite(path, content, { mode });
}
