import { InvalidArgumentError, type Command } from 'commander';
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
    .option('--restart-tries <n>', 'restarts per process before giving up (delays 1, 2, 4… s)', count, 10)
    .action(async (options: UpOptions) => {
      await up(options);
    });
}
