import { TuskApiError } from '../lib/tusk-client';
import { runAuditProgram } from './audit/program';
import { buyer, buyerUsage } from './buyer';
import { CliError } from './common';
import { operator, operatorUsage } from './operator';
import { seller, sellerUsage } from './seller';
import { template, templateUsage } from './template';

const groups: Record<string, (args: string[]) => Promise<void>> = { seller, template, buyer, operator };
// Commander-based groups (cli/audit/commands.ts); reconciled with the commander program at merge.
const auditGroups = ['receipt', 'log', 'audit'];
const auditUsage = `tusk receipt show|verify|pdf <dealId | file> ...   a deal's signed receipt (tusk receipt --help)
tusk log head|prove|check-consistency ...              the operator's transparency log
tusk audit bundle|verify ...                           export and verify a deal's audit bundle`;
const usage = ['usage:', sellerUsage, templateUsage, buyerUsage, operatorUsage, auditUsage].join('\n\n');

async function main(argv: string[]): Promise<void> {
  const [group, ...rest] = argv;
  if (group && auditGroups.includes(group)) return runAuditProgram(argv);
  const run = group ? groups[group] : undefined;
  if (!run) {
    console.log(usage);
    if (group !== 'help' && group !== '--help') process.exitCode = 2;
    return;
  }
  await run(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliError) {
    console.error(error.message);
    process.exitCode = error.exitCode;
  } else if (error instanceof TuskApiError) {
    console.error(`the API refused: ${error.code}: ${error.reason}`);
    process.exitCode = 1;
  } else {
    console.error(`tusk: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
});
