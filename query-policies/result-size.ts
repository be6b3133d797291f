import { canonicalJson } from '../lib/canonical-json';
import type { DimensionDomain, QueryTemplate } from './template';

/**
 * How large a sealed answer is, fixed by the signed template before any data is read. The operator
 * stores and forwards sealed answers; their length must not tell it how many groups were released,
 * which were withheld, or how wide the numbers are. The perimeter pads each sealed plaintext to the
 * bound below, which holds for every possible table of the template.
 */

/** Groups partition selection may release when the template does not say. */
export const DEFAULT_MAX_GROUPS = 1000;

/**
 * Bytes a dimension value found in the data may take in the answer (as JSON text, quotes and escapes
 * included); a longer one is cut, ending in "…". Declared domains are not cut: their values are known.
 */
export const MAX_DIMENSION_BYTES = 64;

/**
 * The longest number JSON (RFC 8785, which uses ECMAScript's Number::toString, ECMA-262 §6.1.6.1.20)
 * writes: a sign, "0." and five zeros, then 17 significant digits, e.g. -0.0000012345678901234567.
 * Exponent forms are shorter (-1.2345678901234567e-123 is 24); `null` is 4.
 */
export const MAX_NUMBER_BYTES = 25;

/** The most bytes a template's padded rows may take: every answer is this large, so keep it storable. */
export const MAX_ROWS_BYTES = 6 * 1024 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(canonicalJson(value));

/** At most this many groups are ever in an answer: the declared domain's size, or the signed maximum. */
export function maxReleasedGroups(template: QueryTemplate): number {
  const domain = template.groupDomain;
  if (!domain) return template.maxGroups ?? DEFAULT_MAX_GROUPS;
  return template.dimensions.reduce((groups, dimension) => groups * sizeOf(domain[dimension]!), 1);
}

const sizeOf = (spec: DimensionDomain) =>
  Array.isArray(spec) ? spec.length : Math.max(0, spec.to - spec.from + 1);

/**
 * The widest value of a declared dimension as JSON text. A range's values are decimal text, and the
 * longest of them is at one of its ends (the most digits, or a minus sign).
 */
const widestOf = (spec: DimensionDomain): number =>
  (Array.isArray(spec) ? spec : [String(spec.from), String(spec.to)]).reduce(
    (widest, value) => Math.max(widest, jsonBytes(value)),
    4,
  );

/** A dimension value from the data, cut (by whole code points) to fit MAX_DIMENSION_BYTES as JSON. */
export function fitDimension(value: string): string {
  if (jsonBytes(value) <= MAX_DIMENSION_BYTES) return value;
  const points = Array.from(value);
  // Every code point takes at least one byte, so no more than MAX_DIMENSION_BYTES of them fit.
  let kept = Math.min(points.length, MAX_DIMENSION_BYTES);
  while (kept > 0 && jsonBytes(points.slice(0, kept).join('') + '…') > MAX_DIMENSION_BYTES) kept--;
  return points.slice(0, kept).join('') + '…';
}

/** The widest a dimension's cell can be: its longest declared value, or the cut for data values. */
function dimensionBytes(template: QueryTemplate): number[] {
  const domain = template.groupDomain;
  if (!domain) return template.dimensions.map(() => MAX_DIMENSION_BYTES);
  return template.dimensions.map((dimension) => widestOf(domain[dimension]!));
}

/**
 * An upper bound on the bytes of an answer's `rows` as canonical JSON: at most maxReleasedGroups
 * rows, each `[` cells joined by `,` `]`, each cell at its widest.
 */
export function rowsBytesBound(template: QueryTemplate): number {
  const cells = [...dimensionBytes(template), ...template.metrics.map(() => MAX_NUMBER_BYTES)];
  const row = 2 + cells.reduce((total, bytes) => total + bytes, 0) + (cells.length - 1);
  const rows = maxReleasedGroups(template);
  return 2 + rows * row + Math.max(0, rows - 1);
}
