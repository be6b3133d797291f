import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from 'pino';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK states each workflow's and activity's start and end at DEBUG. They are the path of a deal
 * through the workers (deals, settlement, coordinator, perimeter), so they are logged at INFO: an
 * operator who greps one deal id sees every step of it, in every process.
 */
const LIFECYCLE_MESSAGES = new Set([
  'Workflow started',
  'Workflow completed',
  'Workflow completed as cancelled',
  'Workflow continued as new',
  'Activity completed',
  'Activity completed as cancelled',
  'Activity failed',
]);

/**
 * The Temporal SDK's logger interface over pino. The SDK hands workflow and activity log calls the
 * run's context (workflowId, workflowType, activityType, taskQueue...); a deal's workflow id is its
 * deal id, so it is copied to `dealId` and every such line can be found by deal.
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (level === 'DEBUG' && LIFECYCLE_MESSAGES.has(message)) level = 'INFO';
    const fields: Record<string, unknown> = { ...meta };
    if (typeof fields.workflowId === 'string' && fields.dealId === undefined)
      fields.dealId = fields.workflowId;
    // The SDK states its own time in nanoseconds; pino stamps the line itself.
    delete fields.timestampNanos;
    this.logger[levels[level]](fields, message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
