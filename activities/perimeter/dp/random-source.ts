import { randomFillSync } from 'node:crypto';

/** Uniform integers: the only randomness the samplers use, so a test can hand in a seeded one. */
export interface RandomSource {
  /** A uniform integer in [0, n). */
  below(n: bigint): bigint;
}

/** Rejection sampling over whole bytes: uniform, without modulo bias. */
export function uniformBelow(n: bigint, bytes: (count: number) => Uint8Array): bigint {
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

/**
 * The operating system's cryptographic RNG, read 64 KiB at a time (one call per draw costs more
 * than the draw itself). Production noise comes from here and nowhere else.
 */
function pooledCryptoBytes(poolSize = 65_536): (count: number) => Uint8Array {
  const pool = new Uint8Array(poolSize);
  let next = poolSize;
  return (count) => {
    if (next + count > poolSize) {
      randomFillSync(pool);
      next = 0;
    }
    // A copy: bytes handed out are never handed out again.
    const bytes = pool.slice(next, next + count);
    next += count;
    return bytes;
  };
}

const cryptoBytes = pooledCryptoBytes();
export const cryptoRandom: RandomSource = { below: (n) => uniformBelow(n, cryptoBytes) };
