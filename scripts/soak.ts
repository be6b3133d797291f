import { Command, InvalidArgumentError } from 'commander';

import { runSoak, soakFailures } from './lib/soak';

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
};

const program = new Command('soak')
  .description(
    'N one-time deals while each worker is SIGKILLed at random points and restarted, and Temporal and Redis are ' +
      'restarted once each; fails unless no deal is lost, none is paid twice and the budget is charged once per deal',
  )
  .option('--deals <n>', 'deals to run', positive, 5)
  .option('--concurrency <n>', 'deals in flight at once', positive, 3)
  .option('--rows <n>', "synthetic visits in the seller's dataset", positive, 20_000)
  .option('--seed <n>', 'seed of the kill points', positive, Date.now() % 1_000_000)
  .option('--kill-every <ms>', 'mean pause between kills', positive, 2_000)
  .option('--deal-timeout <s>', 'longest a deal may take before it counts as lost', positive, 300)
  .option('--keep', 'keep the working directory (logs, ledger)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: Record<string, number | boolean | undefined>) => {
    const killEvery = opts.killEvery as number;
    const report = await runSoak({
      deals: opts.deals as number,
      concurrency: opts.concurrency as number,
      rows: opts.rows as number,
      seed: opts.seed as number,
      killEveryMs: [killEvery / 2, (killEvery * 3) / 2],
      dealTimeoutMs: (opts.dealTimeout as number) * 1000,
      keep: opts.keep === true,
      log: (line) => console.error(line),
    });
    const failures = soakFailures(report);
    if (opts.json) console.log(JSON.stringify({ ...report, failures }, null, 2));
    else {
      const kills = Object.values(report.kills).reduce((a, b) => a + b, 0);
      console.log(
        [
          `deals: ${report.settled}/${report.deals} settled in ${report.durationS} s (seed ${opts.seed as number})`,
          `kills: ${kills} (${Object.entries(report.kills)
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')}); Temporal restarted ${report.temporalRestarts}×, Redis ${report.redisRestarts}×`,
          `lost: ${report.lost.length}, paid twice: ${report.doublePayments.length}`,
          `budget: ε ${report.budget.spentEpsilon} spent by the buyer, ${report.budget.expectedEpsilon} for one charge per deal`,
          `balances: buyer ${report.balances.buyer}, seller ${report.balances.seller}, operator ${report.balances.operator}`,
          ...(report.workDir && opts.keep ? [`kept: ${report.workDir}`] : []),
          failures.length ? `FAILED:\n  ${failures.join('\n  ')}` : 'passed',
        ].join('\n'),
      );
    }
    process.exitCode = failures.length ? 1 : 0;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`soak: ${(error as Error).message}`);
  process.exitCode = 1;
});
