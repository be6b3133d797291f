/**
 * Homomorphic encryption figures at Tusk's parameters (BFV, N = 4096, t = 1032193, 128-bit), for a
 * multi-seller sum of --sellers N over --groups G groups × --quantities Q, each phase beside the same
 * phase in the 100-seller layout (four 13-bit limbs) measured in the same run, interleaved:
 * - one seller's encryption of its vector;
 * - the coordinator's sum of N contributions, loading and saving the ciphertexts (beside a sum of 100);
 * - the buyer's decryption of the sum;
 * then a private selection over --selection-groups groups, one quantity.
 * Usage: npm run bench:he -- [--sellers 1000] [--groups 1024] [--quantities 1]
 *          [--selection-groups 65536] [--runs 9] [--smoke]  (--smoke: one run of small sizes)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateHeKeys, type HeKeyPair } from '../lib/he/buyer-keys';
import { decryptChunks, encryptChunks, innerProduct, sumChunks } from '../lib/he/ciphertexts';
import { SLOTS } from '../lib/he/seal-context';
import {
  decodeValues,
  encodeValues,
  limbEncodingFor,
  MAX_VALUE,
  selectionVector,
  vectorLayout,
  type VectorLayout,
} from '../lib/he/vector-layout';

const { values: flags } = parseArgs({
  options: {
    sellers: { type: 'string' },
    groups: { type: 'string' },
    quantities: { type: 'string' },
    'selection-groups': { type: 'string' },
    runs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = flags.smoke;
const positive = (text: string | undefined, fallback: number, what: string) => {
  const value = Number(text ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${what} must be a whole number ≥ 1`);
  return value;
};
const runs = positive(flags.runs, smoke ? 1 : 9, 'runs');
const sellers = positive(flags.sellers, smoke ? 200 : 1000, 'sellers');
const groups = positive(flags.groups, smoke ? 64 : SLOTS / 4, 'groups');
const quantities = positive(flags.quantities, 1, 'quantities');
const selectionGroups = positive(flags['selection-groups'], smoke ? 4096 : 65_536, 'selection-groups');
const BASELINE_SELLERS = 100;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const load = () => loadavg()[0]!.toFixed(1);

/** Medians of each of `works`, run in turn within every round so all see the same machine load. */
async function interleaved(works: readonly (() => unknown)[]): Promise<number[]> {
  const samples = works.map((): number[] => []);
  for (let i = 0; i < runs; i++)
    for (const [side, work] of works.entries()) {
      const started = performance.now();
      await work();
      samples[side]!.push(performance.now() - started);
    }
  return samples.map(median);
}

function report(what: string, [wide, base]: number[]) {
  console.log(
    `${what.padEnd(44)} ${wide!.toFixed(1).padStart(9)} ms ${base!.toFixed(1).padStart(9)} ms ${(wide! / base!).toFixed(2).padStart(7)}×   load ${load()}`,
  );
}

const describe = (layout: VectorLayout) =>
  `${layout.limbs} limbs of ${layout.limbBits} bits (exact up to ${layout.maxAddends} sellers), stride ${layout.stride}, ${layout.chunks} ciphertext(s)`;

/** One seller's vector: pseudo-random values up to the 52-bit maximum, the same in both layouts. */
const sellerValues = () =>
  Array.from({ length: groups }, (_, g) =>
    Array.from({ length: quantities }, (_, q) => (BigInt(g * 7919 + q) * 104_729n) % MAX_VALUE),
  );

const exactly = (values: bigint[][]) => values.map((row) => row.join()).join(';');

/** Throws unless `total` decrypts to `count` times `values`: figures of a wrong sum are worthless. */
async function checkExact(
  keys: HeKeyPair,
  layout: VectorLayout,
  total: Uint8Array[],
  values: bigint[][],
  count: number,
) {
  const { slots } = await decryptChunks(keys.secretKey, total);
  const expected = values.map((row) => row.map((value) => value * BigInt(count)));
  if (exactly(decodeValues(layout, slots)) !== exactly(expected))
    throw new Error(`the sum of ${count} in ${layout.limbBits}-bit limbs did not decrypt exactly`);
}

/**
 * Each phase for N sellers in the layout their count chooses, beside the same N in the 100-seller
 * layout (what keeping four limbs would cost; its sum of N > 126 would wrap, so it is timed, not
 * read), then a sum of 100 in the 100-seller layout: the largest sum Tusk made before.
 */
async function sums(keys: HeKeyPair) {
  const wide = vectorLayout(groups, quantities, limbEncodingFor(sellers));
  const base = vectorLayout(groups, quantities, limbEncodingFor(BASELINE_SELLERS));
  console.log(`${sellers} sellers: ${describe(wide)}`);
  console.log(`${BASELINE_SELLERS} sellers: ${describe(base)}\n`);
  console.log(
    `${'phase'.padEnd(44)} ${`${sellers}-layout`.padStart(12)} ${'100-layout'.padStart(12)}   ratio`,
  );
  const values = sellerValues();
  const plain = [encodeValues(wide, values), encodeValues(base, values)];
  report(
    `encrypt one seller's vector`,
    await interleaved(plain.map((chunks) => () => encryptChunks(keys.publicKey, chunks))),
  );
  const [wideOne, baseOne] = await Promise.all(plain.map((chunks) => encryptChunks(keys.publicKey, chunks)));
  const times = <T>(count: number, part: T) => Array.from({ length: count }, () => part);
  const totals: Uint8Array[][] = [[], [], []];
  const [wideSum, baseSameCount, baseHundred] = await interleaved([
    async () => void (totals[0] = await sumChunks(times(sellers, wideOne!))),
    async () => void (totals[1] = await sumChunks(times(sellers, baseOne!))),
    async () => void (totals[2] = await sumChunks(times(BASELINE_SELLERS, baseOne!))),
  ]);
  report(`sum of ${sellers} (load, add, save)`, [wideSum!, baseSameCount!]);
  report(`  beside a sum of ${BASELINE_SELLERS} in the 100-layout`, [wideSum!, baseHundred!]);
  report(
    `decrypt the sum`,
    await interleaved([totals[0]!, totals[2]!].map((total) => () => decryptChunks(keys.secretKey, total))),
  );
  await checkExact(keys, wide, totals[0]!, values, sellers);
  await checkExact(keys, base, totals[2]!, values, BASELINE_SELLERS);
}

async function selection(keys: HeKeyPair) {
  const layout = vectorLayout(selectionGroups, 1);
  const groupValues = Array.from({ length: selectionGroups }, (_, g) => [BigInt(g)]);
  const valueChunks = encodeValues(layout, groupValues);
  const chosen = await encryptChunks(keys.publicKey, selectionVector(layout, [selectionGroups - 1]));
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await innerProduct(layout, chosen, valueChunks, keys.galoisKeys, keys.publicKey);
    samples.push(performance.now() - started);
  }
  console.log(
    `\nprivate selection over ${selectionGroups} groups (${layout.chunks} ciphertexts): ${median(samples).toFixed(1)} ms   load ${load()}`,
  );
}

async function main() {
  console.log(`BFV N=${SLOTS}, t=1032193, 128-bit; medians of ${runs} runs; load ${load()}`);
  console.log(`sum vector: ${groups} groups × ${quantities} quantities\n`);
  const keys = await generateHeKeys();
  await sums(keys);
  await selection(keys);
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
