import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProcessSpec } from './supervisor';

export const ROOT = resolve(__dirname, '../..');
/** tsx's loader by path: `--import tsx` would be resolved from the working directory, not the checkout. */
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

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

/**
 * One Tusk process on this Node, through tsx (node itself, so signals reach the process, not a
 * wrapper). `label` names it when several of one kind run (a perimeter per seller).
 */
export function tuskProcess(
  kind: TuskProcess,
  env: Record<string, string>,
  label: string = kind,
): ProcessSpec {
  return {
    name: label,
    argv: [process.execPath, '--import', TSX_LOADER, join(ROOT, TUSK_PROCESSES[kind])],
    env,
    ready: { line: `tusk ${kind} ready` },
  };
}

/**
 * Where each worker serves /metrics and /health: consecutive ports from `base` in a fixed order, so
 * a Prometheus configuration stays valid across restarts; base 0 lets each take any free port.
 */
export function metricsPort(base: number, name: TuskProcess, index = 0): string {
  if (base === 0) return '0';
  // The perimeter comes last, so a second seller's perimeter takes the next port, and so on.
  return String(base + Object.keys(TUSK_PROCESSES).indexOf(name) + index);
}
