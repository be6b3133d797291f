import type { Command } from 'commander';
import { registerBundleCommands } from './audit-commands';
import { registerLogCommands } from './log-commands';
import { registerReceiptCommands } from './receipt-commands';

/** The `receipt`, `log` and `audit` command groups. */
export function registerAuditCommands(program: Command): void {
  registerReceiptCommands(program);
  registerLogCommands(program);
  registerBundleCommands(program);
}
