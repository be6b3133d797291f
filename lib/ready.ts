/** The line a process prints once it serves; supervisors (demo, tests) wait for it. */
export function announceReady(name: string, detail: string): void {
  console.log(`tusk ${name} ready: ${detail}`);
}

/** Runs a process's main, turning a startup error into one clear line and exit code 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`tusk ${name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
