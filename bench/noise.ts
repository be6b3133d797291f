/**
 * Exact noise, as the perimeter draws it for one answer: a declared domain of 3,600 groups × 3
 * numbers is 10,800 discrete-Laplace draws from the OS CSPRNG. Printed side by side in one run:
 * the sampler the perimeter uses (integers held in doubles below 2^53, BigInt only past that) and
 * the same algorithm in BigInt throughout (the baseline), at the scales a count and a sum of a
 * typical template get, and the discrete Gaussian (its acceptance step by 32-bit words against the
 * same step in BigInt). Every figure is a median over the runs, the two samplers' runs interleaved.
 * Usage: npm run bench:noise -- [--draws 10800] [--runs 9] [--smoke]
 * (--smoke: 200 draws, one run; checks it runs, not how fast)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  gaussianInBigInt,
  laplaceInBigInt,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
} from '../activities/perimeter/dp/discrete-samplers';
import { cryptoRandom } from '../activities/perimeter/dp/random-source';
import { dividedByDecimal } from '../query-policies/noise-scale';

const { values: flags } = parseArgs({
  options: {
    draws: { type: 'string' },
    runs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const draws = Number(flags.draws ?? (flags.smoke ? 200 : 10_800));
const runs = Number(flags.runs ?? (flags.smoke ? 1 : 9));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Medians of both samplers' times, their runs interleaved so a shared machine's load hits both alike. */
function timeDraws(draw: () => bigint, baseline: () => bigint): [number, number] {
  const samples: [number[], number[]] = [[], []];
  for (let run = 0; run < runs; run++) {
    [draw, baseline].forEach((sample, which) => {
      const started = performance.now();
      for (let i = 0; i < draws; i++) sample();
      samples[which]!.push(performance.now() - started);
    });
  }
  return [median(samples[0]), median(samples[1])];
}

function report(what: string, [ms, baselineMs]: [number, number]) {
  const perSecond = Math.round((draws / ms) * 1000).toLocaleString('en');
  console.log(
    `${what.padEnd(44)} ${ms.toFixed(2).padStart(8)} ms  ${perSecond.padStart(11)} draws/s   BigInt ${baselineMs
      .toFixed(2)
      .padStart(8)} ms   ratio ${(ms / baselineMs).toFixed(3)}`,
  );
}

console.log(
  `${draws.toLocaleString('en')} draws per answer, medians of ${runs} runs; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}\n`,
);
// A count's scale Δ/ε and a sum's scale (Δ = 1,000) at ε = 0.1 and 0.37 per number.
for (const [what, sensitivity, epsilon] of [
  ['count, ε = 0.1', 1, 0.1],
  ['count, ε = 0.37', 1, 0.37],
  ['sum (Δ = 1,000), ε = 0.37', 1000, 0.37],
] as const) {
  const scale = dividedByDecimal(BigInt(sensitivity), epsilon); // b = Δ/ε as num/den
  report(
    `discrete Laplace, ${what}`,
    timeDraws(
      () => sampleDiscreteLaplace(cryptoRandom, scale.den, scale.num),
      () => laplaceInBigInt(cryptoRandom, scale.den, scale.num),
    ),
  );
}
const gaussian = { num: 9_000_000_001n, den: 1_000_000_000n }; // σ² ≈ 9 on the 10⁻⁹ grid
report(
  'discrete Gaussian, σ² ≈ 9',
  timeDraws(
    () => sampleDiscreteGaussian(cryptoRandom, gaussian),
    () => gaussianInBigInt(cryptoRandom, gaussian),
  ),
);
