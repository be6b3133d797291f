import { Redis } from 'ioredis';

/** A connection as BullMQ wants it: blocking commands must not give up after a few retries. */
export function bullConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}
