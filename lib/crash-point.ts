/**
 * Fault injection for the fault soak (scripts/lib/soak.ts) and nothing else: a process started with
 * `TUSK_CRASH_AT=<point>` kills itself with SIGKILL the first time it reaches that point, so the soak
 * can crash a worker in a window random kills almost never hit (right after a durable ledger write,
 * before Temporal hears of it). Unset, it does nothing.
 */
export function crashPoint(point: string): void {
  if (process.env.TUSK_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
