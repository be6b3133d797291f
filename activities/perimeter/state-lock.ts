import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One perimeter worker per state directory: the privacy ledger has a single writer, so budgets can
 * never be overspent by two processes racing. A lock left by a dead process is taken over.
 */
export async function holdPerimeterLock(directory: string): Promise<() => Promise<void>> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, 'perimeter.lock');
  for (;;) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(await readFile(path, 'utf8').catch(() => ''));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`another perimeter worker (pid ${holder}) holds ${path}`);
      }
      await rm(path, { force: true });
    }
  }
  return () => rm(path, { force: true });
}
