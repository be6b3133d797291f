import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Settlement's own record of the key it verified a payer's terms under when it first locked money on
 * them: the payer's key then, as the log registered it (its registration's sequence). Later steps on
 * the same terms (a share's or a period's lock after the first) check the terms under this key, not
 * the payer's current one: terms a buyer signed before rotating its key still pay for what they say,
 * while terms a retired key signs afresh have no record and are judged under the current key.
 *
 * Why settlement's record: terms carry no signing time, and any time the operator hands settlement is
 * the operator's. The record is written only after the check against the log passed, never moved
 * (exclusive create: the first lock's key stays), and read back against the log's registration of the
 * same sequence, which an append-only log cannot change.
 */
export const lockedPayerKey = z.object({
  signer: z.string(),
  termsHash: z.string(),
  publicKey: z.string(),
  /** The registration of the payer's key the lock was checked against (its place in the payer's history). */
  sequence: z.number().int().min(0),
  lockedAt: z.number().int(),
});
export type LockedPayerKey = z.infer<typeof lockedPayerKey>;

export class PayerKeyRecords {
  constructor(readonly directory: string) {}

  private pathOf(signer: string, termsHash: string): string {
    const key = createHash('sha256')
      .update(JSON.stringify([signer, termsHash]))
      .digest('hex');
    return join(this.directory, key.slice(0, 2), `${key}.payer-key.json`);
  }

  async recorded(signer: string, termsHash: string): Promise<LockedPayerKey | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(signer, termsHash), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return lockedPayerKey.parse(JSON.parse(text));
  }

  /** Keeps the first record of these terms: a second lock's record never replaces the first. */
  async recordOnce(record: LockedPayerKey): Promise<LockedPayerKey> {
    const path = this.pathOf(record.signer, record.termsHash);
    await mkdir(join(path, '..'), { recursive: true });
    try {
      await writeFile(path, JSON.stringify(record), { flag: 'wx', flush: true });
      return record;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const first = await this.recorded(record.signer, record.termsHash);
      if (!first)
        throw new Error(`the payer key record of ${record.termsHash} cannot be read`, { cause: error });
      return first;
    }
  }
}
