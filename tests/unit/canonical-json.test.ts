import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json';

/** The encoder used before canonical JSON moved to `canonicalize`: what every existing signature covers. */
function formerCanonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formerCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${formerCanonicalJson(v)}`).join(',')}}`;
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the RFC 8785 §3.2.3 example its canonical form', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code unit, as RFC 8785 §3.2.3 orders its example', () => {
    const keys = ['\u20ac', '\r', '\ufb33', '1', '\ud83d\ude00', '\u0080', '\u00f6'];
    const text = canonicalJson(Object.fromEntries(keys.map((k) => [k, 0])));
    // Read the keys back in text order (Object.keys would put the integer-like key first).
    const sorted = [...text.matchAll(/"((?:[^"\\]|\\.)*)":0/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(sorted).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('is byte for byte the former encoding for the documents signed today', () => {
    const root = join(__dirname, '../..');
    const signedToday = [
      'query-policies/demo-seller/cohort-cost-by-zip3.json',
      'query-policies/demo-seller/dataset-policy.json',
      'query-policies/demo-seller/seller.json',
    ].map((path) => JSON.parse(readFileSync(join(root, path), 'utf8')) as unknown);
    signedToday.push({ dealId: 'd-1', price: '1000', parameters: { zip3: '021', minAge: 40 }, at: 1.5e12 });
    for (const document of signedToday) expect(canonicalJson(document)).toBe(formerCanonicalJson(document));
  });

  it('hashes equal values equally whatever the key order', () => {
    expect(canonicalHash({ a: 1, b: 2 })).toBe(canonicalHash({ b: 2, a: 1 }));
    expect(canonicalHash({ a: 1 })).not.toBe(canonicalHash({ a: 2 }));
  });

  it('refuses values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ a: '\ud800' })).toThrow(/surrogate/);
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
  });
});
