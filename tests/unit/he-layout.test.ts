import { describe, expect, it } from 'vitest';
import {
  decodeInnerProduct,
  decodeValues,
  encodeValues,
  LIMB_BITS,
  LIMBS,
  MAX_SELLERS,
  MAX_VALUE,
  rotationSteps,
  selectionVector,
  vectorLayout,
} from '../../lib/he/vector-layout';
import { HE_PARAMETERS, SLOTS } from '../../lib/he/seal-context';

describe('the slot layout of released vectors', () => {
  it('keeps any limb summed over the most sellers below the plaintext modulus', () => {
    const limbMax = (1n << BigInt(LIMB_BITS)) - 1n;
    expect(BigInt(MAX_SELLERS) * limbMax).toBeLessThan(HE_PARAMETERS.plainModulus);
    expect(MAX_VALUE).toBe((1n << BigInt(LIMB_BITS * LIMBS)) - 1n);
  });

  it('round-trips values, limbs and chunks', () => {
    const layout = vectorLayout(700, 3);
    expect(layout).toEqual({ groups: 700, quantities: 3, stride: 16, chunks: 3 });
    const values = Array.from({ length: 700 }, (_, g) => [
      BigInt(g),
      MAX_VALUE - BigInt(g),
      8191n * BigInt(g),
    ]);
    expect(decodeValues(layout, encodeValues(layout, values))).toEqual(values);
  });

  it('recombines limb sums with their carries', () => {
    const layout = vectorLayout(1, 1);
    const [chunk] = encodeValues(layout, [[MAX_VALUE]]);
    // Summing the same vector S times is what S sellers at the maximum produce.
    const summed = chunk!.map((slot) => slot * MAX_SELLERS);
    expect(decodeValues(layout, [summed])).toEqual([[MAX_VALUE * BigInt(MAX_SELLERS)]]);
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
