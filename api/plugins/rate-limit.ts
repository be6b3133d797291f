import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { ApiError } from '../errors';

export interface RateLimitOptions {
  /** Requests per party per window. */
  max: number;
  windowMs: number;
  /** Shared by every API process, so a party's limit holds across all of them. Left out: per process. */
  redis?: Redis;
}

/**
 * One budget of requests per party (per address for unsigned routes). It runs after the signature
 * is checked (preHandler), so a party is counted by the id it proved, and a flood from one party
 * leaves every other party's budget untouched.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: options.max,
    timeWindow: options.windowMs,
    nameSpace: 'tusk-rate-limit:',
    ...(options.redis ? { redis: options.redis } : {}),
    // Redis down: the replay check already refuses every signed request (503); do not add a 500.
    skipOnError: true,
    keyGenerator: (request) => (request.party ? `party:${request.party.id}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        'rate_limited',
        // `after` is the time left in the window, not the window: a limit stated with it would change
        // from one refusal to the next.
        `too many requests from this party: at most ${context.max} per ${windowText(options.windowMs)}; retry in ${context.after}`,
      ),
  });
}

function windowText(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds % 60 !== 0) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = seconds / 60;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
