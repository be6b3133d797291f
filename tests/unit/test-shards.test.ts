import { describe, expect, it } from 'vitest';

import { temporalDevServerArgs } from '../../stack/launcher';
import {
  durationsFromReports,
  RIDERS,
  recordedDurations,
  splitByDuration,
  testFilesUnder,
} from '../../scripts/test-shards';

describe('splitting the integration files into shards', () => {
  const seconds = { 'a.test.ts': 100, 'b.test.ts': 60, 'c.test.ts': 50, 'd.test.ts': 40, 'e.test.ts': 10 };
  const files = Object.keys(seconds);

  it('puts every file in exactly one shard', () => {
    for (const count of [1, 2, 3, 7]) {
      const shards = splitByDuration(files, seconds, count);
      expect(shards).toHaveLength(count);
      expect(shards.flatMap((shard) => shard.files).sort()).toEqual([...files].sort());
    }
  });

  it('balances the recorded time: 100 + 40 against 60 + 50 + 10, not by file count', () => {
    const shards = splitByDuration(files, seconds, 2);
    expect(shards.map((shard) => shard.files)).toEqual([
      ['a.test.ts', 'd.test.ts'],
      ['b.test.ts', 'c.test.ts', 'e.test.ts'],
    ]);
    expect(shards.map((shard) => shard.seconds)).toEqual([140, 120]);
  });

  it('gives the same split whatever order the files were listed in (each shard process computes it)', () => {
    const reversed = splitByDuration([...files].reverse(), seconds, 3);
    expect(reversed).toEqual(splitByDuration(files, seconds, 3));
  });

  it('counts a file with no recorded time as the median', () => {
    const shards = splitByDuration([...files, 'new.test.ts'], seconds, 2);
    expect(shards.reduce((sum, shard) => sum + shard.seconds, 0)).toBe(260 + 50);
  });

  it('refuses a shard count that is not a whole number ≥ 1', () => {
    expect(() => splitByDuration(files, seconds, 0)).toThrow(/whole number/);
    expect(() => splitByDuration(files, seconds, 1.5)).toThrow(/whole number/);
  });

  it('splits the real integration suite into two halves within a minute of each other', () => {
    const real = testFilesUnder('tests/integration');
    expect(real).toContain('tests/integration/milestone-grant.test.ts');
    const [first, second] = splitByDuration(real, recordedDurations(), 2);
    expect(Math.abs(first!.seconds - second!.seconds)).toBeLessThan(60);
  });

  it('splits the real settlement suite into two chain lanes of every file, each well under the whole', () => {
    const real = testFilesUnder('tests/settlement');
    const recorded = recordedDurations();
    for (const file of real) expect(recorded[file], `${file} has a recorded time`).toBeGreaterThan(0);
    const lanes = splitByDuration(real, recorded, 2);
    expect(lanes.flatMap((lane) => lane.files).sort()).toEqual(real);
    const whole = real.reduce((sum, file) => sum + recorded[file]!, 0);
    for (const lane of lanes) expect(lane.seconds).toBeLessThan(0.6 * whole);
  });
});

describe("the tests' Temporal dev server", () => {
  it('reads its task queues at up to 1000 a second, not the default 20 (a 40-50 ms wait per task)', () => {
    const args = temporalDevServerArgs({ port: 1, uiPort: 2, dataDir: '/tmp/x', headless: true });
    const value = args[args.indexOf('--dynamic-config-value') + 1];
    expect(value).toBe('history.transferProcessorMaxPollRPS=1000');
  });
});

describe("the recorded times, from a run's vitest JSON reports", () => {
  it("keeps each integration and settlement file's seconds by its path from the root, and the unit and browser files' together", () => {
    const root = '/repo';
    const seconds = durationsFromReports(
      [
        {
          testResults: [
            { name: '/repo/tests/integration/b.test.ts', startTime: 1_000, endTime: 43_400 },
            { name: '/repo/tests/unit/u.test.ts', startTime: 0, endTime: 9_000 },
            { name: '/repo/tests/browser/c.test.ts', startTime: 0, endTime: 20_400 },
            { name: '/repo/scripts/x.test.ts', startTime: 0, endTime: 5_000 },
            { name: '/repo/tests/settlement/s.test.ts', startTime: 0, endTime: 300_200 },
          ],
        },
        { testResults: [{ name: '/repo/tests/integration/cli/a.test.ts', startTime: 0, endTime: 120 }] },
      ],
      root,
    );
    expect(seconds).toEqual({
      'tests/integration/b.test.ts': 42,
      'tests/integration/cli/a.test.ts': 1,
      'tests/settlement/s.test.ts': 300,
      [RIDERS]: 29,
    });
  });
});
