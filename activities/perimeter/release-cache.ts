import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Answers already released, by query key (buyer, template hash, parameters): an identical query
 * inside the window gets the same answer back instead of fresh noise, so repeating a query cannot
 * average the noise away. Plaintext, so it lives only here, inside the perimeter.
 */
export class ReleaseCache {
  constructor(readonly directory: string) {}

  private pathOf(queryKey: string): string {
    return join(this.directory, 'releases', `${queryKey.replace(/^sha256:/, '')}.json`);
  }

  async find<T>(queryKey: string, notBefore: number): Promise<T | undefined> {
    const text = await readFile(this.pathOf(queryKey), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    const stored = JSON.parse(text) as { at: number; release: T };
    return stored.at > notBefore ? stored.release : undefined;
  }

  async store<T>(queryKey: string, release: T, at: number): Promise<void> {
    await mkdir(join(this.directory, 'releases'), { recursive: true });
    const path = this.pathOf(queryKey);
    await writeFile(`${path}.tmp`, JSON.stringify({ at, release }));
    await rename(`${path}.tmp`, path);
  }
}
