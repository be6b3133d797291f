import { Command, CommanderError } from 'commander';
import { registerSettlementCommands } from './settlement/commands';
import { TuskApiError } from '../lib/tusk-client';
import { buyer, buyerUsage } from './buyer';
import { CliError } from './common';
import { operator, operatorUsage } from './operator';
import { seller, sellerUsage } from './seller';
import { template, templateUsage } from './template';

const groups: Record<string, (args: string[]) => Promise<void>> = { seller, template, buyer, operator };
const usage = ['usage:', sellerUsage, templateUsage, buyerUsage, operatorUsage].join('\n\n');

async function main(argv: string[]): Promise<void> {
  const [group, ...rest] = argv;
  // Commands on commander (see the CLI contract): until the whole CLI moves, routed here by name.
  if (group === 'operator' && rest[0] === 'retry') {
    const program = new Command('tusk').exitOverride();
    registerSettlementCommands(program);
    try {
      await program.parseAsync(argv, { from: 'user' });
    } catch (error) {
      if (error instanceof CommanderError) {
        process.exitCode = error.exitCode === 0 ? 0 : 2;
        return;
      }
      throw error;
    }
    return;
  }
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
