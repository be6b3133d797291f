/**
 * Homomorphic encryption figures at Tusk's parameters (BFV, N = 4096, t = 1032193, 128-bit), each
 * beside its plaintext baseline measured in the same run:
 * - per-seller encryption of one 4096-slot vector (baseline: encoding the same vector into limbs);
 * - the coordinator's sum of S = 2 … 100 sellers' ciphertexts, with and without deserialising them
 *   (baseline: adding S plain vectors);
 * - the buyer's decryption of one ciphertext (baseline: decoding the plain vector);
 * - a private selection over 4096 and 8192 groups, one quantity (baseline: reading the group).
 * Usage: npm run bench:he -- [--runs 9] [--smoke]  (--smoke: one run, two sellers; checks it runs, not how fast)
 */
import { parseArgs } from 'node:util';
import { generateHeKeys } from '../lib/he/buyer-keys';
import { decryptChunks, encryptChunks, innerProduct, sumChunks } from '../lib/he/ciphertexts';
import { heContext, sealScope, SLOTS } from '../lib/he/seal-context';
import {
  decodeValues,
  encodeValues,
  MAX_VALUE,
  selectionVector,
  vectorLayout,
} from '../lib/he/vector-layout';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string' }, smoke: { type: 'boolean', default: false } },
});
const runs = Number(flags.runs ?? (flags.smoke ? 1 : 9));
const SELLER_COUNTS = flags.smoke ? [2] : [2, 10, 50, 100];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function time(work: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function report(what: string, he: number, plain: number) {
  const ratio = he / plain;
  const shown = ratio < 10 ? ratio.toFixed(2) : Math.round(ratio).toLocaleString('en');
  console.log(
    `${what.padEnd(44)} HE ${he.toFixed(2).padStart(8)} ms   plain ${plain.toFixed(4).padStart(8)} ms   HE/plain ${shown}`,
  );
}

async function main() {
  console.log(`BFV N=${SLOTS}, t=1032193, 128-bit; medians of ${runs} runs\n`);
  const keys = await generateHeKeys();
  const he = await heContext();
  const oneChunk = vectorLayout(SLOTS / 4, 1);
  const values = Array.from({ length: oneChunk.groups }, (_, g) => [(BigInt(g) * 7919n) % MAX_VALUE]);
  const plain = encodeValues(oneChunk, values);

  report(
    'per-seller encryption (1 ciphertext)',
    await time(() => encryptChunks(keys.publicKey, plain)),
    await time(() => encodeValues(oneChunk, values)),
  );

  const contribution = await encryptChunks(keys.publicKey, plain);
  for (const sellers of SELLER_COUNTS) {
    const parts = Array.from({ length: sellers }, () => contribution);
    const plainParts = Array.from({ length: sellers }, () => plain[0]!);
    const plainSum = () => {
      const total = new Uint32Array(SLOTS);
      for (const part of plainParts) for (let i = 0; i < SLOTS; i++) total[i] = total[i]! + part[i]!;
      return total;
    };
    // Loaded once and freed after timing (sealScope frees synchronously, so not across awaits).
    const loaded = parts.map((bytes) => {
      const ciphertext = he.seal.CipherText();
      ciphertext.loadArray(he.context, bytes[0]!);
      return ciphertext;
    });
    const addOnly = await time(() =>
      sealScope((local) => {
        const total = local(he.seal.CipherText());
        he.evaluator.add(loaded[0]!, loaded[1]!, total);
        for (const addend of loaded.slice(2)) he.evaluator.add(total, addend, total);
      }),
    );
    for (const ciphertext of loaded) ciphertext.delete();
    const plainMs = await time(plainSum);
    report(`coordinator sum of ${sellers}, add only`, addOnly, plainMs);
    report(`coordinator sum of ${sellers}, load + add + save`, await time(() => sumChunks(parts)), plainMs);
  }

  report(
    'buyer decryption (1 ciphertext)',
    await time(() => decryptChunks(keys.secretKey, contribution)),
    await time(() => decodeValues(oneChunk, plain)),
  );

  for (const groups of [4096, 8192]) {
    const layout = vectorLayout(groups, 1);
    const groupValues = Array.from({ length: groups }, (_, g) => [BigInt(g)]);
    const valueChunks = encodeValues(layout, groupValues);
    const selection = await encryptChunks(keys.publicKey, selectionVector(layout, [groups - 1]));
    report(
      `private selection over ${groups} groups (${layout.chunks} ct)`,
      await time(() => innerProduct(layout, selection, valueChunks, keys.galoisKeys, keys.publicKey)),
      await time(() => groupValues[groups - 1]![0]! * 1n),
    );
  }
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
