import { CommanderError } from 'commander';
import { TuskApiError, TuskUnreachableError } from '../lib/tusk-client';
import { CliError, EXIT } from './common';
import { buildProgram } from './program';

export { buildProgram };

/** Commander's own way out of help and version is not an error. */
const helpCodes = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/** Runs one command line; returns the exit code of the contract (0 ok, 1 refused, 2 usage, 3 unreachable). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError)
      return helpCodes.has(error.code) && error.exitCode === 0 ? 0 : EXIT.usage;
    if (error instanceof CliError) {
      console.error(error.message);
      return error.exitCode;
    }
    if (error instanceof TuskUnreachableError) {
      console.error(error.message);
      return EXIT.unreachable;
    }
    if (error instanceof TuskApiError) {
      console.error(`the API refused: ${error.code}: ${error.reason}`);
      return EXIT.refused;
    }
    console.error(`tusk: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.refused;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
