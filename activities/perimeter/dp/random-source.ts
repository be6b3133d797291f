import { randomFillSync } from 'node:crypto';

/** Uniform integers: the only randomness the samplers use, so a test can hand in a seeded one. */
export interface RandomSource {
  /** A uniform integer in [0, n). */
  below(n: bigint): bigint;
  /** The same for a safe integer n ≥ 1 (below 2^53), without BigInt: the samplers' fast path. */
  belowNumber(n: number): number;
}

/** A byte source: `count` fresh uniform bytes. */
export type ByteSource = (count: number) => Uint8Array;

/** Rejection sampling over whole bytes: uniform, without modulo bias. */
export function uniformBelow(n: bigint, bytes: ByteSource): bigint {
  if (n <= 0n) throw new RangeError('n must be positive');
  const bits = n.toString(2).length;
  const byteCount = Math.ceil(bits / 8);
  const excess = BigInt(byteCount * 8 - bits);
  for (;;) {
    let value = 0n;
    for (const byte of bytes(byteCount)) value = (value << 8n) | BigInt(byte);
    value >>= excess;
    if (value < n) return value;
  }
}

const TWO_32 = 2 ** 32;

/**
 * The same law as `uniformBelow` for a safe integer n (< 2^53), in doubles (exact: every value
 * involved is an integer below 2^53). Rejection over the fewest bits that hold n − 1, so a try
 * accepts with probability above 1/2; each try reads one fresh 32-bit word (two when n > 2^32).
 */
export function uniformBelowNumber(n: number, word: () => number): number {
  if (!Number.isSafeInteger(n) || n <= 0 || n > 2 ** 53)
    throw new RangeError('n must be a safe positive integer');
  if (n === 1) return 0;
  if (n <= TWO_32) {
    const bits = 32 - Math.clz32(n - 1);
    const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    for (;;) {
      const value = (word() & mask) >>> 0;
      if (value < n) return value;
    }
  }
  // n − 1 ≥ 2^32: its high word (exact: a division by a power of two) sets the high bits' mask.
  const highMask = (1 << (32 - Math.clz32(Math.floor((n - 1) / TWO_32)))) - 1;
  for (;;) {
    const value = (word() & highMask) * TWO_32 + (word() >>> 0);
    if (value < n) return value;
  }
}

/** 32-bit words from a byte source, big-endian. */
export function wordsOf(bytes: ByteSource): () => number {
  return () => {
    const b = bytes(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  };
}

/** A random source over one byte source, both paths reading from it. */
export function randomSourceOf(bytes: ByteSource, word: () => number = wordsOf(bytes)): RandomSource {
  return {
    below: (n) => uniformBelow(n, bytes),
    belowNumber: (n) => uniformBelowNumber(n, word),
  };
}

/**
 * The operating system's cryptographic RNG, read 64 KiB at a time (one call per draw costs more
 * than the draw itself). Production noise comes from here and nowhere else. Bytes handed out are
 * never handed out again: the pool's read position only moves forward until it is refilled.
 */
function pooledCryptoRandom(poolSize = 65_536): RandomSource {
  const pool = new Uint8Array(poolSize);
  const view = new DataView(pool.buffer);
  let next = poolSize;
  const take = (count: number): number => {
    if (next + count > poolSize) {
      randomFillSync(pool);
      next = 0;
    }
    const at = next;
    next += count;
    return at;
  };
  const bytes: ByteSource = (count) => pool.slice(take(count), next);
  const word = () => view.getUint32(take(4));
  return randomSourceOf(bytes, word);
}

export const cryptoRandom: RandomSource = pooledCryptoRandom();
