import { randomSourceOf, type RandomSource } from '../../activities/perimeter/dp/random-source';

/** A seeded generator (mulberry32), for tests only: reproducible draws, so checks cannot flake. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
  return randomSourceOf((count) => Uint8Array.from({ length: count }, () => next() & 0xff), next);
}
