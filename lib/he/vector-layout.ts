import { SLOTS } from './seal-context';

/**
 * How released numbers sit in BFV slots. Sums wrap modulo t = 1032193, so every value is split into
 * LIMBS limbs of LIMB_BITS bits; a limb summed over MAX_SELLERS sellers stays below t
 * (100 × 8191 = 819,100), and the buyer recombines the limb sums with big integers, carries included.
 *
 * Group-major layout: group g's quantity q, limb j sits at slot g·stride + q·LIMBS + j, where the
 * stride is the power of two at or above quantities × LIMBS. A ciphertext holds SLOTS / stride
 * groups; more groups take more ciphertexts ("chunks"). Because the stride divides a SEAL row
 * (SLOTS / 2), rotating by stride, 2·stride, … and across the rows sums every group into slots
 * 0 … stride−1: the private selection's inner product for all quantities at once.
 */
export const LIMB_BITS = 13;
export const LIMBS = 4;
export const MAX_SELLERS = 100;
/** The largest value one seller may encode: 52 bits, four limbs. */
export const MAX_VALUE = (1n << BigInt(LIMB_BITS * LIMBS)) - 1n;
const LIMB_MASK = (1n << BigInt(LIMB_BITS)) - 1n;

export interface VectorLayout {
  groups: number;
  quantities: number;
  stride: number;
  chunks: number;
}

export function vectorLayout(groups: number, quantities: number): VectorLayout {
  if (!Number.isInteger(groups) || groups < 1) throw new Error('a vector needs at least one group');
  if (!Number.isInteger(quantities) || quantities < 1)
    throw new Error('a vector needs at least one quantity');
  let stride = 1;
  while (stride < quantities * LIMBS) stride *= 2;
  if (stride > SLOTS / 2) throw new Error(`${quantities} quantities do not fit one ciphertext row`);
  return { groups, quantities, stride, chunks: Math.ceil(groups / (SLOTS / stride)) };
}

const groupsPerChunk = (layout: VectorLayout) => SLOTS / layout.stride;

/** Plain slot vectors, one per chunk, from values[group][quantity] (each 0 … MAX_VALUE). */
export function encodeValues(layout: VectorLayout, values: readonly (readonly bigint[])[]): Uint32Array[] {
  if (values.length !== layout.groups)
    throw new Error(`expected ${layout.groups} groups, got ${values.length}`);
  const chunks = Array.from({ length: layout.chunks }, () => new Uint32Array(SLOTS));
  values.forEach((row, group) => {
    if (row.length !== layout.quantities) throw new Error(`group ${group} has ${row.length} quantities`);
    const chunk = chunks[Math.floor(group / groupsPerChunk(layout))]!;
    const base = (group % groupsPerChunk(layout)) * layout.stride;
    row.forEach((value, quantity) => {
      if (value < 0n || value > MAX_VALUE) throw new Error(`value out of range 0…${MAX_VALUE}`);
      for (let limb = 0; limb < LIMBS; limb++)
        chunk[base + quantity * LIMBS + limb] = Number((value >> BigInt(limb * LIMB_BITS)) & LIMB_MASK);
    });
  });
  return chunks;
}

/** values[group][quantity] from decrypted (summed) chunks: limb sums recombined exactly. */
export function decodeValues(layout: VectorLayout, chunks: readonly Uint32Array[]): bigint[][] {
  if (chunks.length !== layout.chunks)
    throw new Error(`expected ${layout.chunks} ciphertexts, got ${chunks.length}`);
  return Array.from({ length: layout.groups }, (_, group) => {
    const chunk = chunks[Math.floor(group / groupsPerChunk(layout))]!;
    return readQuantities(layout, chunk, (group % groupsPerChunk(layout)) * layout.stride);
  });
}

function readQuantities(layout: VectorLayout, slots: Uint32Array, base: number): bigint[] {
  return Array.from({ length: layout.quantities }, (_, quantity) => {
    let value = 0n;
    for (let limb = 0; limb < LIMBS; limb++)
      value += BigInt(slots[base + quantity * LIMBS + limb]!) << BigInt(limb * LIMB_BITS);
    return value;
  });
}

/** The buyer's plain selection: ones over the chosen groups' blocks, zeros elsewhere. */
export function selectionVector(layout: VectorLayout, chosen: readonly number[]): Uint32Array[] {
  const chunks = Array.from({ length: layout.chunks }, () => new Uint32Array(SLOTS));
  for (const group of chosen) {
    if (!Number.isInteger(group) || group < 0 || group >= layout.groups)
      throw new Error(`group ${group} is not one of the template's ${layout.groups} groups`);
    const base = (group % groupsPerChunk(layout)) * layout.stride;
    chunks[Math.floor(group / groupsPerChunk(layout))]!.fill(1, base, base + layout.stride);
  }
  return chunks;
}

/** The quantities of a decrypted inner product (they sit in slots 0 … stride−1). */
export function decodeInnerProduct(layout: VectorLayout, slots: Uint32Array): bigint[] {
  return readQuantities(layout, slots, 0);
}

/** Rotation steps the inner product needs: stride, 2·stride, … up to half a row. */
export function rotationSteps(layout: VectorLayout): number[] {
  const steps: number[] = [];
  for (let step = layout.stride; step < SLOTS / 2; step *= 2) steps.push(step);
  return steps;
}
