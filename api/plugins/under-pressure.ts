import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors';

export interface LoadSheddingOptions {
  /** Refuse new requests (503) once the event loop lags this much (ms), before it stalls. */
  maxEventLoopDelayMs: number;
  /** …or once it is this busy (0..1). */
  maxEventLoopUtilization: number;
}

class Overloaded extends ApiError {
  constructor() {
    super('overloaded', 'the service is under too much load right now; retry shortly');
  }
}

/** Sheds load with 503 and Retry-After while the process is overloaded, as fastify/demo does. */
export async function registerLoadShedding(
  app: FastifyInstance,
  options: LoadSheddingOptions,
): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxEventLoopUtilization: options.maxEventLoopUtilization,
    retryAfter: 1,
    customError: Overloaded,
  });
}
