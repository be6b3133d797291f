import { Command, Option } from 'commander';
import {
  disclosureWorkflowId,
  disputeWorkflowId,
  grantWorkflowId,
  subscriptionWorkflowId,
} from '../../lib/ids/workflow-ids';
import { TuskApiError, TuskClient } from '../../lib/tusk-client';
import { temporalUiLink } from '../../lib/temporal-ui';
import { apiUrl, CliError, home, keyPaths, readText } from '../common';

/** What an id names, and the workflow id it runs under (the kinds `GET /deals` lists). */
const WORKFLOW_ID_OF = {
  deal: (id: string) => id,
  'multi-seller-deal': (id: string) => id,
  subscription: subscriptionWorkflowId,
  grant: grantWorkflowId,
  dispute: disputeWorkflowId,
  disclosure: disclosureWorkflowId,
};
type Kind = keyof typeof WORKFLOW_ID_OF;

interface TemporalUiOptions {
  as: string;
  kind: Kind;
  api?: string;
  home?: string;
  json?: boolean;
}

/** `tusk operator temporal-ui [id]`: where the Web UI is, its codec endpoint, and a lifecycle's link. */
async function temporalUi(id: string | undefined, options: TemporalUiOptions): Promise<void> {
  const homeDir = home(options.home);
  const key = await readText(keyPaths(homeDir, options.as).signing, `signing key of ${options.as}`);
  const api = apiUrl(options.api, options.home);
  const client = new TuskClient(api, options.as, key);
  let ui: { uiUrl: string; namespace: string; codecTokenRoute: boolean };
  try {
    ui = await client.get('/operator/temporal-ui');
  } catch (error) {
    if (error instanceof TuskApiError) throw new CliError(`refused: ${error.code}: ${error.reason}`, 1);
    if (error instanceof Error && error.message.startsWith('cannot reach'))
      throw new CliError(error.message, 3);
    throw error;
  }
  const codecEndpoint = `${api.replace(/\/+$/, '')}/codec/<TUSK_CODEC_TOKEN>`;
  const link =
    id === undefined ? undefined : temporalUiLink(ui.uiUrl, ui.namespace, WORKFLOW_ID_OF[options.kind](id));
  if (options.json) console.log(JSON.stringify({ ...ui, codecEndpoint, ...(link ? { link } : {}) }));
  else
    console.log(
      [
        `Temporal UI: ${ui.uiUrl} (namespace ${ui.namespace})`,
        `codec endpoint: ${codecEndpoint}${ui.codecTokenRoute ? '' : ' (off: the API has no TUSK_CODEC_TOKEN)'}`,
        ...(link ? [`${options.kind} ${id}: ${link}`] : []),
      ].join('\n'),
    );
}

/** Added to the `operator` group (made here if it is missing). */
export function registerTemporalUiCommand(program: Command): void {
  const operator =
    program.commands.find((command) => command.name() === 'operator') ??
    program.command('operator').description('operator commands');
  operator
    .command('temporal-ui')
    .description("the Temporal Web UI's address and codec endpoint, and a lifecycle's link in it")
    .argument('[id]', 'a deal (or subscription, grant, dispute, disclosure) id')
    .requiredOption('--as <operator>', 'the operator party signing the request')
    .addOption(
      new Option('--kind <kind>', 'what the id names').choices(Object.keys(WORKFLOW_ID_OF)).default('deal'),
    )
    .option('--api <url>', 'the API (default TUSK_API_URL or http://127.0.0.1:8787)')
    .option('--home <dir>', 'where the keys are (default TUSK_HOME or .tusk)')
    .option('--json', 'print the answer as JSON')
    .action((id: string | undefined, options: TemporalUiOptions) => temporalUi(id, options));
}
