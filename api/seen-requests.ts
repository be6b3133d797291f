import type { Redis } from 'ioredis';

/** Signed requests already accepted, remembered until their timestamp leaves the clock-skew window. */
export interface SeenRequests {
  /** True the first time a digest is offered within `ttlMs`, false for every repeat. */
  firstTime(digest: string, ttlMs: number): Promise<boolean>;
}

const KEY_PREFIX = 'tusk:api:seen-request:';

/** In Redis (SET NX with an expiry), so that every API process behind one Redis shares it. */
export function redisSeenRequests(redis: Redis): SeenRequests {
  return {
    async firstTime(digest, ttlMs) {
      const stored = await redis.set(
        `${KEY_PREFIX}${digest}`,
        '1',
        'PX',
        Math.max(1, Math.ceil(ttlMs)),
        'NX',
      );
      return stored === 'OK';
    },
  };
}
