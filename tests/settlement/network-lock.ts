import { createHash } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Runs `work` while no other settlement run on the same network runs its own: chain lanes
 * (scripts/test.ts) deploy their Token and receipt NFT at the same time, from the same operator
 * account, and two deploys publishing the same contract class at once would collide on its nullifier.
 * The lock is a file created exclusively, holding the holder's pid; a holder no longer running leaves
 * a stale lock that is taken over.
 */
export async function withNetworkLock<T>(nodeUrl: string, work: () => Promise<T>): Promise<T> {
  const key = createHash('sha256').update(nodeUrl).digest('hex').slice(0, 16);
  const file = path.join(tmpdir(), `tusk-aztec-deploy-${key}.lock`);
  for (const deadline = Date.now() + 600_000; ;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (holder > 0 && !isRunning(holder)) await unlink(file).catch(() => undefined);
      else if (Date.now() > deadline) throw new Error(`${file} held for 10 minutes by pid ${holder}`);
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await work();
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
