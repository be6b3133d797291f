import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests share two cores with integration lanes in CI: a timeout is a
        // hang detector, not a speed check (speed is measured in bench/).
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The web console in the system Chromium (playwright-core), against the same real stack.
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          globalSetup: ['tests/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // Against a real Aztec local network, started once for the run by the global setup (about
        // 90 s, after a first-time toolchain install of a few minutes). Each transaction takes 5-10 s.
        test: {
          name: 'settlement',
          include: ['tests/settlement/**/*.test.ts'],
          globalSetup: ['tests/settlement/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
