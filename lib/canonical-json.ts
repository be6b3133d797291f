import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Canonical JSON as RFC 8785 (JCS) defines it, through the maintained `canonicalize` package: object
 * keys sorted by UTF-16 code unit, no whitespace, numbers in ECMAScript form. Signatures and
 * commitments are computed over this form, so two parties (in any language with a JCS library) that
 * hold the same value always hash the same bytes. For plain JSON data this is byte for byte what the
 * earlier in-house encoder produced, so every signature made before still verifies
 * (tests/unit/canonical-json.test.ts). What JSON cannot carry faithfully is refused rather than
 * silently dropped: NaN, Infinity, bigint, a lone surrogate, or a value that is not JSON at all.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'bigint') throw new TypeError('canonical JSON cannot hold a bigint');
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    const reason = (error as Error).message.replace(/BigInt/, 'bigint');
    throw new TypeError(`canonical JSON cannot hold this value: ${reason}`);
  }
  if (text === undefined) throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  return text;
}

/** `sha256:<hex>` of the bytes given. */
export function sha256Ref(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function canonicalHash(value: unknown): string {
  return sha256Ref(canonicalJson(value));
}
