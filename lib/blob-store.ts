import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const REF = /^sha256:([0-9a-f]{64})$/;

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
}

/**
 * Content-addressed blobs on a filesystem directory: the name is the sha256 of the bytes, so a
 * reference proves what it points to and a write of the same bytes twice is one blob.
 */
export class BlobStore {
  constructor(readonly directory: string) {}

  static isRef(value: string): boolean {
    return REF.test(value);
  }

  private pathOf(ref: string): string {
    const match = REF.exec(ref);
    if (!match?.[1]) throw new Error(`not a blob reference: ${JSON.stringify(ref).slice(0, 80)}`);
    return join(this.directory, 'sha256', match[1].slice(0, 2), match[1]);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const ref = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const path = this.pathOf(ref);
    if (await this.has(ref)) return ref;
    await mkdir(join(path, '..'), { recursive: true });
    // Write then rename: a reader never sees a half-written blob.
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, path);
    return ref;
  }

  async has(ref: string): Promise<boolean> {
    try {
      await stat(this.pathOf(ref));
      return true;
    } catch {
      return false;
    }
  }

  /** The bytes, checked against their name. */
  async get(ref: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(ref));
    } catch {
      throw new BlobNotFoundError(`no blob ${ref}`);
    }
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== ref) throw new Error(`blob ${ref} is corrupt (its bytes hash to ${actual})`);
    return bytes;
  }
}
