import { Command, Option } from 'commander';
import { TuskApiError, TuskClient } from '../../lib/tusk-client';
import { apiUrl, CliError, home, keyPaths, readText } from '../common';

const KINDS = ['deal', 'multi-seller-deal', 'subscription', 'grant'] as const;
type Kind = (typeof KINDS)[number];

interface RetryOptions {
  as: string;
  kind: Kind;
  api?: string;
  home?: string;
  json?: boolean;
}

/** `tusk operator retry <id>`: the lifecycle tries its failed money steps again. */
async function retry(id: string, options: RetryOptions): Promise<void> {
  const homeDir = home(options.home);
  const key = await readText(keyPaths(homeDir, options.as).signing, `signing key of ${options.as}`);
  const client = new TuskClient(apiUrl(options.api, options.home), options.as, key);
  let accepted: { workflowId: string; retrying: string[] };
  try {
    accepted = await client.post('/settlement/retry', { kind: options.kind, id });
  } catch (error) {
    if (error instanceof TuskApiError) throw new CliError(`refused: ${error.code}: ${error.reason}`, 1);
    if (error instanceof Error && error.message.startsWith('cannot reach'))
      throw new CliError(error.message, 3);
    throw error;
  }
  if (options.json) console.log(JSON.stringify(accepted));
  else console.log(`${options.kind} ${id}: retrying ${accepted.retrying.join(', ')}`);
}

/** Settlement commands of the operator: added to the `operator` group (made here if it is missing). */
export function registerSettlementCommands(program: Command): void {
  const operator =
    program.commands.find((command) => command.name() === 'operator') ??
    program.command('operator').description('operator commands');
  operator
    .command('retry')
    .description(
      "retry a lifecycle's failed money steps (a refund, a release, a payout) shown as needs_attention",
    )
    .argument('<id>', 'the deal (or subscription, grant) id')
    .requiredOption('--as <operator>', 'the operator party signing the request')
    .addOption(new Option('--kind <kind>', 'what the id names').choices(KINDS).default('deal'))
    .option('--api <url>', 'the API (default TUSK_API_URL or http://127.0.0.1:8787)')
    .option('--home <dir>', 'where the keys are (default TUSK_HOME or .tusk)')
    .option('--json', 'print the answer as JSON')
    .action((id: string, options: RetryOptions) => retry(id, options));
}
