import { join, resolve } from 'node:path';
import type { ProcessSpec } from './supervisor';

export const ROOT = resolve(__dirname, '../..');

/** The Tusk processes, by name: each announces `tusk <name> ready` once it serves. */
export const TUSK_PROCESSES = {
  api: 'api/server.ts',
  'deals worker': 'workers/deals.ts',
  'settlement worker': 'workers/settlement.ts',
  'coordinator worker': 'workers/coordinator.ts',
  notifier: 'workers/notifier.ts',
  'perimeter worker': 'workers/perimeter.ts',
} as const;

export type TuskProcess = keyof typeof TUSK_PROCESSES;

/** One Tusk process on this Node, through tsx (node itself, so signals reach the process, not a wrapper). */
export function tuskProcess(name: TuskProcess, env: Record<string, string>): ProcessSpec {
  return {
    name,
    argv: [process.execPath, '--import', 'tsx', join(ROOT, TUSK_PROCESSES[name])],
    env,
    ready: { line: `tusk ${name} ready` },
  };
}

/**
 * Where each worker serves /metrics and /health: consecutive ports from `base` in a fixed order, so
 * a Prometheus configuration stays valid across restarts; base 0 lets each take any free port.
 */
export function metricsPort(base: number, name: TuskProcess): string {
  if (base === 0) return '0';
  return String(base + Object.keys(TUSK_PROCESSES).indexOf(name));
}
