import pino, { type Logger, type LoggerOptions } from 'pino';

/** One JSON line per event on stdout; `service` says which process wrote it. */
export function loggerOptions(service: string): LoggerOptions {
  return {
    level: process.env.TUSK_LOG_LEVEL ?? 'info',
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(service: string): Logger {
  return pino(loggerOptions(service));
}
