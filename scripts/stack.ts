import path from 'node:path';

import { startStack } from '../stack/launcher';

const repoRoot = path.resolve(__dirname, '..');

// The handlers stay installed, so a repeated signal (a second Ctrl-C, or one relayed by npm/tsx)
// does not cut the clean stop short.
function untilStopSignal(): Promise<NodeJS.Signals> {
  const keepAlive = setInterval(() => {}, 60_000);
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      clearInterval(keepAlive);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function main(): Promise<void> {
  const stack = await startStack({ dataDir: path.join(repoRoot, '.tusk', 'stack') });
  console.log(`TEMPORAL_ADDRESS=${stack.temporalAddress}`);
  console.log(`REDIS_URL=${stack.redisUrl}`);
  console.error('stack: up; export the lines above, Ctrl-C to stop');
  const signal = await untilStopSignal();
  console.error(`stack: ${signal}, stopping…`);
  await stack.stop();
  console.error('stack: stopped');
}

main().catch((error: unknown) => {
  console.error(`stack: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
