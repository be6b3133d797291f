import { createHash } from 'node:crypto';
import { DirectoryBlobBackend } from './blob-store-directory';

const REF = /^sha256:([0-9a-f]{64})$/;

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
}

/**
 * Where blob bytes live, by their sha256 in hex. A write is atomic (a reader never sees half a
 * blob); the same key written twice holds the same bytes, so a repeated write is harmless.
 */
export interface BlobBackend {
  /** For logs: where the blobs are, without credentials. */
  readonly description: string;
  write(hash: string, bytes: Uint8Array): Promise<void>;
  exists(hash: string): Promise<boolean>;
  /** The bytes, or undefined when there is no such blob. */
  read(hash: string): Promise<Buffer | undefined>;
}

/**
 * Content-addressed blobs: the name is the sha256 of the bytes, so a reference proves what it
 * points to and a write of the same bytes twice is one blob. A directory on one machine, or an
 * S3-API bucket when the parties run on several (lib/blob-store-env.ts chooses).
 */
export class BlobStore {
  readonly backend: BlobBackend;

  /** A directory path, or a backend such as S3BlobBackend. */
  constructor(backend: string | BlobBackend) {
    this.backend = typeof backend === 'string' ? new DirectoryBlobBackend(backend) : backend;
  }

  static isRef(value: string): boolean {
    return REF.test(value);
  }

  private hashOf(ref: string): string {
    const match = REF.exec(ref);
    if (!match?.[1]) throw new Error(`not a blob reference: ${JSON.stringify(ref).slice(0, 80)}`);
    return match[1];
  }

  async put(bytes: Uint8Array): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (!(await this.backend.exists(hash))) await this.backend.write(hash, bytes);
    return `sha256:${hash}`;
  }

  async has(ref: string): Promise<boolean> {
    return this.backend.exists(this.hashOf(ref));
  }

  /** The bytes, checked against their name. */
  async get(ref: string): Promise<Buffer> {
    const bytes = await this.backend.read(this.hashOf(ref));
    if (!bytes) throw new BlobNotFoundError(`no blob ${ref}`);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== ref) throw new Error(`blob ${ref} is corrupt (its bytes hash to ${actual})`);
    return bytes;
  }
}
