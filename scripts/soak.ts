import { Command, InvalidArgumentError } from 'commander';

import { runSoak, soakFailures } from './lib/soak';

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
};

const program = new Command('soak')
  .description(
    'N one-time deals while the API and each worker are SIGKILLed at random points and restarted, Temporal and ' +
      'Redis are crashed once each, and the settlement worker is crashed right after a ledger lock and a payout; ' +
      'fails unless every deal is locked once and paid out once in the ledger, the budget is charged once per deal, ' +
      'balances add up and every buyer is notified',
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
    if (opts.json) {
      const { ledger, ...summary } = report;
      console.log(JSON.stringify({ ...summary, ledgerLines: ledger.length, failures }, null, 2));
    } else {
      const kills = Object.values(report.kills).reduce((a, b) => a + b, 0);
      console.log(
        [
          `deals: ${report.settled.length}/${report.deals.length} settled in ${report.durationS} s (seed ${opts.seed as number})`,
          `kills: ${kills} (${Object.entries(report.kills)
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')})`,
          `faults: ${Object.entries(report.faults)
            .filter(([name]) => !(name in report.kills))
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')}`,
          `lost: ${report.lost.length}; ledger lines: ${report.ledger.length}; unnotified: ${report.unnotified.length}`,
          `budget: ε ${report.spentEpsilon} spent by the buyer, ${report.epsilonPerDeal * report.settled.length} for one charge per deal`,
          `balances: ${Object.entries(report.balances)
            .map(([account, { actual }]) => `${account} ${actual}`)
            .join(', ')}`,
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
