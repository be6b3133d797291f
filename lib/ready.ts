/**
 * The line a process prints once it serves; supervisors (`tusk up`, the demo, tests) wait for it.
 * With a logger it is a JSON line whose message carries the same words.
 */
export function announceReady(
  name: string,
  detail: string,
  logger?: { info(fields: object, message: string): void; level: string },
): void {
  const line = `tusk ${name} ready: ${detail}`;
  // Printed whatever the log level: supervisors wait for it.
  if (logger && ['trace', 'debug', 'info'].includes(logger.level)) logger.info({ ready: true }, line);
  else console.log(line);
}

/** Runs a process's main, turning a startup error into one clear line and exit code 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`tusk ${name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
