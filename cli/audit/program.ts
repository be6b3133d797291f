import { Command, CommanderError } from 'commander';
import { CliError } from '../common';
import { registerAuditCommands } from './commands';

/** Runs the audit command groups through commander, with the CLI contract's exit codes. */
export async function runAuditProgram(argv: string[]): Promise<void> {
  const program = new Command('tusk').exitOverride().showHelpAfterError();
  registerAuditCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof CliError) {
      console.error(error.message);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
