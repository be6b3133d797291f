import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { withNetworkLock } from '../../tests/settlement/network-lock';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chain lanes' deploy lock on one network", () => {
  it('runs the holders one after another, never overlapping', async () => {
    const url = `http://127.0.0.1:1/${crypto.randomUUID()}`;
    const events: string[] = [];
    const holder = (name: string) =>
      withNetworkLock(url, async () => {
        events.push(`${name} in`);
        await pause(50);
        events.push(`${name} out`);
        return name;
      });
    expect(await Promise.all([holder('a'), holder('b'), holder('c')])).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace(' in', ' out'));
  });

  it('takes over a lock left by a process that no longer runs, and frees it after a failure', async () => {
    const url = `http://127.0.0.1:1/${crypto.randomUUID()}`;
    const key = createHash('sha256').update(url).digest('hex').slice(0, 16);
    // A pid far above any this machine hands out: a holder that died without unlocking.
    await writeFile(path.join(tmpdir(), `tusk-aztec-deploy-${key}.lock`), '999999999');
    await expect(withNetworkLock(url, () => Promise.reject(new Error('deploy failed')))).rejects.toThrow(
      'deploy failed',
    );
    expect(await withNetworkLock(url, () => Promise.resolve('deployed'))).toBe('deployed');
  });
});
