import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { down, status } from './status';
import { up, type UpOptions } from './up';

const port = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError('a port number from 0 (any free port) to 65535');
  return parsed;
};

const count = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('a whole number');
  return parsed;
};

/** `tusk up`: the service on one machine, or a seller's perimeter alone. */
export function registerServiceCommands(program: Command): void {
  program
    .command('up')
    .description(
      'run the whole service on this machine until Ctrl-C: Temporal (with its Web UI) and Redis unless ' +
        'TEMPORAL_ADDRESS / REDIS_URL are set, the API and every worker, restarted with backoff when they crash',
    )
    .option('--home <dir>', 'state: parties, keys, ledger, blobs, logs', process.env.TUSK_HOME ?? '.tusk')
    .option(
      '--perimeter',
      "only a seller's perimeter worker, against the Temporal and blob store the environment names",
      false,
    )
    .option('--api-port <port>', 'the API (loopback)', port, 8787)
    .option('--metrics-port <port>', "workers' /metrics and /health from this port on (0: any)", port, 9470)
    .option('--temporal-port <port>', 'the Temporal dev server (0: any)', port, 7233)
    .option('--ui-port <port>', "Temporal's Web UI (0: any)", port, 8233)
    .option('--redis-port <port>', 'Redis (0: any)', port, 6379)
    .option('--demo-rows <n>', "also run the demo seller's perimeter over n synthetic rows", count)
    .option(
      '--seller <perimeter.json|dir>',
      "a seller's perimeter.json, or its directory; repeat for several (default: every one under <home>/sellers)",
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    )
    .option('--restart-tries <n>', 'restarts per process before giving up (delays 1, 2, 4… s)', count, 10)
    .action(async (options: UpOptions) => {
      await up(options);
    });

  program
    .command('status')
    .description(
      'whether `tusk up` runs for this home: its addresses and processes (exit 3 when it does not)',
    )
    .option('--home <dir>', 'the home tusk up was started with', process.env.TUSK_HOME ?? '.tusk')
    .option('--json', 'as JSON', false)
    .action(async (options: { home: string; json: boolean }) => {
      process.exitCode = await status(resolve(options.home), options.json);
    });

  program
    .command('down')
    .description(
      "stop this home's `tusk up` and every process it runs, as Ctrl-C does, and wait until they stopped",
    )
    .option('--home <dir>', 'the home tusk up was started with', process.env.TUSK_HOME ?? '.tusk')
    .option('--timeout <seconds>', 'how long to wait', count, 90)
    .action(async (options: { home: string; timeout: number }) => {
      await down(resolve(options.home), options.timeout * 1000, (line) => console.log(`tusk down: ${line}`));
    });
}
