import { describe, expect, it } from 'vitest';
import { generateHeKeys, type HeKeyPair } from '../../lib/he/buyer-keys';
import { decryptChunks, encryptChunks, HeKeyError, innerProduct, sumChunks } from '../../lib/he/ciphertexts';
import {
  decodeInnerProduct,
  decodeValues,
  encodeValues,
  FOUR_LIMBS,
  limbEncodingFor,
  MAX_SELLERS,
  MAX_VALUE,
  selectionVector,
  vectorLayout,
} from '../../lib/he/vector-layout';
import { seededRandom } from '../support/seeded-random';

/** SEAL itself, not a stand-in: these check the arithmetic the deal flows rely on. */
describe('BFV arithmetic at the configured sizes', () => {
  let keys: HeKeyPair;
  const keysReady = generateHeKeys().then((made) => (keys = made));

  it('sums the most sellers at the largest values exactly, limb carries included', async () => {
    await keysReady;
    const layout = vectorLayout(3, 2);
    const edge = [
      [MAX_VALUE, 0n],
      [(1n << 13n) - 1n, (1n << 26n) - 1n],
      [1n, MAX_VALUE - 1n],
    ];
    const contribution = await encryptChunks(keys.publicKey, encodeValues(layout, edge));
    const sellers = FOUR_LIMBS.maxAddends;
    const total = await sumChunks(Array.from({ length: sellers }, () => contribution));
    const { slots, noiseBudgetBits } = await decryptChunks(keys.secretKey, total);
    expect(noiseBudgetBits).toBeGreaterThan(0);
    expect(decodeValues(layout, slots)).toEqual(edge.map((row) => row.map((v) => v * BigInt(sellers))));
  }, 120_000);

  it('sums 1,000 sellers exactly in the limbs their signed count chooses, carries included', async () => {
    await keysReady;
    const sellers = 1000;
    expect(sellers).toBeLessThanOrEqual(MAX_SELLERS);
    const layout = vectorLayout(700, 3, limbEncodingFor(sellers));
    expect(layout.chunks).toBeGreaterThan(1);
    const random = seededRandom(25);
    // Eight distinct contributions, each added 125 times: a third of the values at the 52-bit edge,
    // so every limb of those slots is at its maximum and the limb sums carry.
    const distinct = Array.from({ length: 8 }, () =>
      Array.from({ length: layout.groups }, () =>
        Array.from({ length: 3 }, () => (random.below(3n) === 0n ? MAX_VALUE : random.below(MAX_VALUE))),
      ),
    );
    const encrypted = await Promise.all(
      distinct.map((values) => encryptChunks(keys.publicKey, encodeValues(layout, values))),
    );
    const total = await sumChunks(Array.from({ length: sellers }, (_, i) => encrypted[i % 8]!));
    const { slots, noiseBudgetBits } = await decryptChunks(keys.secretKey, total);
    expect(noiseBudgetBits).toBeGreaterThan(0);
    const expected = distinct[0]!.map((row, g) =>
      row.map((_, q) => distinct.reduce((sum, values) => sum + values[g]![q]!, 0n) * BigInt(sellers / 8)),
    );
    expect(decodeValues(layout, slots)).toEqual(expected);
    // The same ciphertexts read in four limbs would be wrong: the width is part of the answer.
    const fourLimbs = vectorLayout(700, 3);
    expect(() => decodeValues(fourLimbs, slots)).toThrow(/expected/);
  }, 300_000);

  it('refuses a result under a wrong secret key instead of returning garbage', async () => {
    await keysReady;
    const other = await generateHeKeys();
    const layout = vectorLayout(1, 1);
    const ciphertexts = await encryptChunks(keys.publicKey, encodeValues(layout, [[42n]]));
    await expect(decryptChunks(other.secretKey, ciphertexts)).rejects.toThrow(HeKeyError);
    await expect(encryptChunks(Uint8Array.from([1, 2, 3]), [])).rejects.toThrow(/public key does not load/);
    await expect(sumChunks([[Uint8Array.from([9, 9])], ciphertexts])).rejects.toThrow(/does not load/);
  }, 120_000);

  it('selects exactly the chosen groups over several chunks, with noise budget to spare', async () => {
    await keysReady;
    // The demo template's size: 300 zip3 × 12 diagnoses, three quantities.
    const layout = vectorLayout(3600, 3);
    const random = seededRandom(7);
    const values = Array.from({ length: layout.groups }, () =>
      Array.from({ length: 3 }, () => random.below(2n ** 40n)),
    );
    const plain = encodeValues(layout, values);
    for (const chosen of [[0], [3599], [1234, 2000]]) {
      const selection = await encryptChunks(keys.publicKey, selectionVector(layout, chosen));
      const answer = await innerProduct(layout, selection, plain, keys.galoisKeys, keys.publicKey);
      const { slots, noiseBudgetBits } = await decryptChunks(keys.secretKey, [answer]);
      expect(noiseBudgetBits).toBeGreaterThan(0);
      const expected = [0, 1, 2].map((q) => chosen.reduce((sum, g) => sum + values[g]![q]!, 0n));
      expect(decodeInnerProduct(layout, slots[0]!)).toEqual(expected);
    }
  }, 120_000);

  it('answers zeros where whole chunks of the released vector are zero', async () => {
    await keysReady;
    const layout = vectorLayout(600, 1);
    const values = Array.from({ length: 600 }, (_, g) => [g >= 300 ? 5n : 0n]);
    for (const [plain, chosen, expected] of [
      [encodeValues(layout, values), 450, 5n],
      [encodeValues(layout, values), 10, 0n],
      [
        encodeValues(
          layout,
          values.map(() => [0n]),
        ),
        450,
        0n,
      ],
    ] as const) {
      const selection = await encryptChunks(keys.publicKey, selectionVector(layout, [chosen]));
      const answer = await innerProduct(layout, selection, plain, keys.galoisKeys, keys.publicKey);
      const { slots } = await decryptChunks(keys.secretKey, [answer]);
      expect(decodeInnerProduct(layout, slots[0]!)).toEqual([expected]);
    }
  }, 120_000);

  it('gives ciphertexts one length whatever they hold: contributions, sums and selections', async () => {
    await keysReady;
    const layout = vectorLayout(300, 2);
    const lengths = new Set<number>();
    const selection = await encryptChunks(keys.publicKey, selectionVector(layout, [1]));
    // Neighbouring released vectors (one group moved by one), an all-zero one, and wide values.
    for (const fill of [0n, 1n, 2n, 123_456_789n]) {
      const values = Array.from({ length: 300 }, (_, g) => [g === 1 ? fill : 0n, fill]);
      const plain = encodeValues(layout, values);
      const contribution = await encryptChunks(keys.publicKey, plain);
      const [sum] = await sumChunks([contribution, contribution]);
      const answer = await innerProduct(layout, selection, plain, keys.galoisKeys, keys.publicKey);
      for (const bytes of [...contribution, sum!, answer]) lengths.add(bytes.length);
    }
    expect([...lengths]).toHaveLength(1);
  }, 120_000);

  it('keeps memory flat over 1,000 encrypt-and-add cycles (every SEAL object freed)', async () => {
    await keysReady;
    const layout = vectorLayout(1, 1);
    const plain = encodeValues(layout, [[7n]]);
    const cycle = async () => {
      const [ciphertext] = await encryptChunks(keys.publicKey, plain);
      await sumChunks([[ciphertext!], [ciphertext!]]);
    };
    for (let i = 0; i < 100; i++) await cycle();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) await cycle();
    const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
    // One leaked ciphertext is about 200 KB in the WebAssembly heap: 1,000 would be about 200 MB.
    expect(grownMb).toBeLessThan(40);
  }, 300_000);
});
