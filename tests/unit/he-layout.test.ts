import { describe, expect, it } from 'vitest';
import {
  decodeInnerProduct,
  decodeValues,
  encodeValues,
  FOUR_LIMBS,
  limbEncodingFor,
  MAX_SELLERS,
  MAX_VALUE,
  rotationSteps,
  selectionVector,
  vectorLayout,
} from '../../lib/he/vector-layout';
import { HE_PARAMETERS, SLOTS } from '../../lib/he/seal-context';

describe('the slot layout of released vectors', () => {
  const t = HE_PARAMETERS.plainModulus;
  const limbMax = (limbBits: number) => (1n << BigInt(limbBits)) - 1n;

  it('keeps any limb summed over the most addends below the plaintext modulus, and no fewer', () => {
    for (const addends of [1, 2, 100, 126, 127, 504, 505, MAX_SELLERS, 2019]) {
      const encoding = limbEncodingFor(addends);
      expect(BigInt(addends) * limbMax(encoding.limbBits)).toBeLessThan(t);
      // The bound is tight: one more addend at every limb's maximum would reach t.
      expect(BigInt(encoding.maxAddends + 1) * limbMax(encoding.limbBits)).toBeGreaterThanOrEqual(t);
      expect(encoding.limbs * encoding.limbBits).toBeGreaterThanOrEqual(52);
    }
    expect(MAX_VALUE).toBe((1n << 52n) - 1n);
    expect(FOUR_LIMBS).toEqual({ limbBits: 13, limbs: 4, maxAddends: 126 });
    expect(limbEncodingFor(126)).toEqual(FOUR_LIMBS);
    expect(limbEncodingFor(127)).toEqual({ limbBits: 11, limbs: 5, maxAddends: 504 });
    expect(limbEncodingFor(505)).toEqual({ limbBits: 9, limbs: 6, maxAddends: 2019 });
    expect(limbEncodingFor(MAX_SELLERS).maxAddends).toBeGreaterThanOrEqual(MAX_SELLERS);
    expect(() => limbEncodingFor(2020)).toThrow(/cannot be summed exactly/);
  });

  it('round-trips values, limbs and chunks in every encoding', () => {
    const layout = vectorLayout(700, 3);
    expect(layout).toEqual({ ...FOUR_LIMBS, groups: 700, quantities: 3, stride: 16, chunks: 3 });
    expect(vectorLayout(700, 3, limbEncodingFor(MAX_SELLERS))).toMatchObject({ stride: 32, chunks: 6 });
    const values = Array.from({ length: 700 }, (_, g) => [
      BigInt(g),
      MAX_VALUE - BigInt(g),
      8191n * BigInt(g),
    ]);
    for (const addends of [2, 200, MAX_SELLERS]) {
      const wide = vectorLayout(700, 3, limbEncodingFor(addends));
      expect(decodeValues(wide, encodeValues(wide, values))).toEqual(values);
    }
  });

  it('recombines limb sums with their carries at the most addends of each encoding', () => {
    for (const addends of [126, 504, 2019]) {
      const layout = vectorLayout(1, 1, limbEncodingFor(addends));
      const [chunk] = encodeValues(layout, [[MAX_VALUE]]);
      // Summing the same vector S times is what S sellers at the maximum produce.
      const summed = chunk!.map((slot) => slot * addends);
      expect(summed.every((slot) => BigInt(slot) < t)).toBe(true);
      expect(decodeValues(layout, [summed])).toEqual([[MAX_VALUE * BigInt(addends)]]);
    }
  });

  it('refuses values it cannot carry and groups that are not there', () => {
    const layout = vectorLayout(2, 1);
    expect(() => encodeValues(layout, [[MAX_VALUE + 1n], [0n]])).toThrow(/out of range/);
    expect(() => encodeValues(layout, [[-1n], [0n]])).toThrow(/out of range/);
    expect(() => selectionVector(layout, [2])).toThrow(/not one of/);
  });

  it('marks the chosen groups in their chunk and rotates within half a row', () => {
    const layout = vectorLayout(SLOTS / 4 + 1, 1);
    expect(layout.stride).toBe(4);
    const chunks = selectionVector(layout, [SLOTS / 4]);
    expect(chunks[0]!.every((slot) => slot === 0)).toBe(true);
    expect([...chunks[1]!.slice(0, 5)]).toEqual([1, 1, 1, 1, 0]);
    expect(rotationSteps(layout)).toEqual([4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(decodeInnerProduct(layout, Uint32Array.from([5, 1, 0, 0]))).toEqual([5n + (1n << 13n)]);
  });
});
