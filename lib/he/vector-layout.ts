import { HE_PARAMETERS, SLOTS } from './seal-context';

/**
 * How released numbers sit in BFV slots. Sums wrap modulo t = 1032193, so every value is split into
 * limbs of `limbBits` bits; the buyer recombines the limb sums with big integers, carries included.
 * A limb sum stays exact while addends × (2^limbBits − 1) ≤ t − 1: the limb width is chosen from
 * how many vectors may be added into one slot (the sellers the buyer signed for, or the groups one
 * selection picks), so wider deals take narrower limbs and more of them:
 *
 *   limbs  limb bits  exact for up to        (values of at most VALUE_BITS = 52 bits)
 *     4       13      126 addends   (126 × 8191 = 1,032,066)
 *     5       11      504 addends   (504 × 2047 = 1,031,688)
 *     6        9      2,019 addends (2,019 × 511 = 1,031,709)
 *
 * Group-major layout: group g's quantity q, limb j sits at slot g·stride + q·limbs + j, where the
 * stride is the power of two at or above quantities × limbs. A ciphertext holds SLOTS / stride
 * groups; more groups take more ciphertexts ("chunks"). Because the stride divides a SEAL row
 * (SLOTS / 2), rotating by stride, 2·stride, … and across the rows sums every group into slots
 * 0 … stride−1: the private selection's inner product for all quantities at once.
 */
export const VALUE_BITS = 52;
/** The largest value one seller may encode, whatever the limb width. */
export const MAX_VALUE = (1n << BigInt(VALUE_BITS)) - 1n;
/**
 * Four limbs is the layout Tusk started with (and the one private selection uses); six sum 2,019
 * vectors, more than MAX_SELLERS, so more limbs would only lengthen every vector.
 */
const FEWEST_LIMBS = 4;
const MOST_LIMBS = 6;
/** The most sellers one multi-seller sum may name: the six-limb encoding sums them exactly. */
export const MAX_SELLERS = 1_000;

export interface LimbEncoding {
  limbBits: number;
  limbs: number;
  /** How many vectors may be added slot-wise before a limb sum could wrap modulo t. */
  maxAddends: number;
}

/** The encoding with `limbBits`-bit limbs: as many limbs as VALUE_BITS needs. */
export function limbEncoding(limbBits: number): LimbEncoding {
  if (!Number.isInteger(limbBits) || limbBits < 1 || limbBits >= HE_PARAMETERS.plainModulusBits)
    throw new Error(`no limb encoding of ${limbBits} bits`);
  const limbMax = (1n << BigInt(limbBits)) - 1n;
  return {
    limbBits,
    limbs: Math.ceil(VALUE_BITS / limbBits),
    maxAddends: Number((HE_PARAMETERS.plainModulus - 1n) / limbMax),
  };
}

/** The fewest limbs (so the shortest vectors) that sum `addends` vectors exactly. */
export function limbEncodingFor(addends: number): LimbEncoding {
  if (!Number.isInteger(addends) || addends < 1) throw new Error('at least one vector is added');
  for (let limbs = FEWEST_LIMBS; limbs <= MOST_LIMBS; limbs++) {
    const encoding = limbEncoding(Math.ceil(VALUE_BITS / limbs));
    if (addends <= encoding.maxAddends) return encoding;
  }
  throw new Error(`${addends} vectors cannot be summed exactly under t = ${HE_PARAMETERS.plainModulus}`);
}

/**
 * The four-limb, 13-bit encoding: a private selection's (one seller's vector, summed over the groups
 * a selection picks, up to 126 of them), and the one an envelope that names no limb width was made
 * with.
 */
export const FOUR_LIMBS = limbEncoding(13);

export interface VectorLayout extends LimbEncoding {
  groups: number;
  quantities: number;
  stride: number;
  chunks: number;
}

export function vectorLayout(
  groups: number,
  quantities: number,
  encoding: LimbEncoding = FOUR_LIMBS,
): VectorLayout {
  if (!Number.isInteger(groups) || groups < 1) throw new Error('a vector needs at least one group');
  if (!Number.isInteger(quantities) || quantities < 1)
    throw new Error('a vector needs at least one quantity');
  let stride = 1;
  while (stride < quantities * encoding.limbs) stride *= 2;
  if (stride > SLOTS / 2) throw new Error(`${quantities} quantities do not fit one ciphertext row`);
  return { ...encoding, groups, quantities, stride, chunks: Math.ceil(groups / (SLOTS / stride)) };
}

const groupsPerChunk = (layout: VectorLayout) => SLOTS / layout.stride;

/** Plain slot vectors, one per chunk, from values[group][quantity] (each 0 … MAX_VALUE). */
export function encodeValues(layout: VectorLayout, values: readonly (readonly bigint[])[]): Uint32Array[] {
  if (values.length !== layout.groups)
    throw new Error(`expected ${layout.groups} groups, got ${values.length}`);
  const chunks = Array.from({ length: layout.chunks }, () => new Uint32Array(SLOTS));
  const limbMask = (1n << BigInt(layout.limbBits)) - 1n;
  values.forEach((row, group) => {
    if (row.length !== layout.quantities) throw new Error(`group ${group} has ${row.length} quantities`);
    const chunk = chunks[Math.floor(group / groupsPerChunk(layout))]!;
    const base = (group % groupsPerChunk(layout)) * layout.stride;
    row.forEach((value, quantity) => {
      if (value < 0n || value > MAX_VALUE) throw new Error(`value out of range 0…${MAX_VALUE}`);
      for (let limb = 0; limb < layout.limbs; limb++)
        chunk[base + quantity * layout.limbs + limb] = Number(
          (value >> BigInt(limb * layout.limbBits)) & limbMask,
        );
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
    for (let limb = 0; limb < layout.limbs; limb++)
      value += BigInt(slots[base + quantity * layout.limbs + limb]!) << BigInt(limb * layout.limbBits);
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
