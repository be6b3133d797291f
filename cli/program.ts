import { Command } from 'commander';
import { registerAuditCommands } from './audit/commands';
import { registerAuditorCommands } from './auditor/commands';
import { registerBuyerCommands } from './buyer/commands';
import { registerComplianceCommands } from './compliance/commands';
import { registerSponsorCommands } from './sponsor/commands';
import { registerOperatorCommands } from './operator/commands';
import { registerSellerCommands } from './seller/commands';
import { registerServiceCommands } from './service/commands';
import { registerSettlementCommands } from './settlement/commands';
import { registerTemporalUiCommand } from './settlement/temporal-ui-command';
import { registerTemplateCommands } from './template/commands';

/**
 * The whole `tusk` program. Each area adds its group through `register<Area>Commands(program)`.
 * Errors are thrown, not exited, so `runCli` maps them to the exit codes of the contract.
 */
export function buildProgram(): Command {
  const program = new Command('tusk')
    .description('Tusk: aggregate answers from data that never leaves its seller')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerSellerCommands(program);
  registerTemplateCommands(program);
  registerBuyerCommands(program);
  registerSponsorCommands(program);
  registerComplianceCommands(program);
  registerAuditorCommands(program);
  registerAuditCommands(program);
  registerOperatorCommands(program);
  registerSettlementCommands(program);
  registerTemporalUiCommand(program);
  registerServiceCommands(program);
  return program;
}
