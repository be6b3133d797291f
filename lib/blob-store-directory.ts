import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobBackend } from './blob-store';

/** Blobs as files under `<directory>/sha256/<first two hex digits>/<hash>`: the default on one machine. */
export class DirectoryBlobBackend implements BlobBackend {
  constructor(readonly directory: string) {}

  get description(): string {
    return `directory ${this.directory}`;
  }

  private pathOf(hash: string): string {
    return join(this.directory, 'sha256', hash.slice(0, 2), hash);
  }

  async write(hash: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(hash);
    await mkdir(join(path, '..'), { recursive: true });
    // Write then rename: a reader never sees a half-written blob.
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  }

  async exists(hash: string): Promise<boolean> {
    try {
      await stat(this.pathOf(hash));
      return true;
    } catch {
      return false;
    }
  }

  async read(hash: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(hash));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
