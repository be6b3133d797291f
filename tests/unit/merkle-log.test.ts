import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../lib/transparency/merkle';

const hex = (h: Hash) => h.toString('hex');
const fromHex = (s: string) => Buffer.from(s, 'hex');

// The test data of RFC 6962's reference implementation (certificate-transparency, transparency-dev/merkle).
const ENTRIES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const LEAVES = ENTRIES.map((e) => leafHash(fromHex(e)));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION_VECTORS: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
];
const CONSISTENCY_VECTORS: [number, number, string[]][] = [
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const tree = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

describe('Merkle log (RFC 9162 §2.1)', () => {
  it('computes the published root of every prefix of the reference data', () => {
    expect(hex(emptyRoot())).toBe(ROOTS[0]);
    for (let n = 1; n <= 8; n++) expect(hex(rootOf(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n]);
  });

  it('separates leaves from nodes: a leaf holding two hashes is not their parent', () => {
    const [a, b] = [LEAVES[1]!, LEAVES[2]!];
    expect(leafHash(Buffer.concat([a, b])).equals(nodeHash(a, b))).toBe(false);
  });

  it('produces and verifies the published inclusion proofs', () => {
    for (const [index, size, path] of INCLUSION_VECTORS) {
      const proof = inclusionProof(LEAVES.slice(0, size), index);
      expect(proof.map(hex), `leaf ${index} of ${size}`).toEqual(path);
      expect(verifyInclusion(index, size, LEAVES[index]!, proof, fromHex(ROOTS[size]!))).toBe(true);
    }
  });

  it('produces and verifies the published consistency proofs', () => {
    for (const [first, second, path] of CONSISTENCY_VECTORS) {
      const proof = consistencyProof(LEAVES.slice(0, second), first);
      expect(proof.map(hex), `${first} → ${second}`).toEqual(path);
      expect(verifyConsistency(first, second, fromHex(ROOTS[first]!), fromHex(ROOTS[second]!), proof)).toBe(
        true,
      );
    }
  });

  it('verifies every inclusion proof up to 33 leaves, and refuses a wrong leaf, index or path', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = tree(n);
      const root = rootOf(leaves);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(leaves, m);
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        expect(verifyInclusion(m, n, leafHash(Buffer.from('other')), proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
        if (proof.length > 0) {
          expect(verifyInclusion(m, n, leaves[m]!, proof.slice(1), root)).toBe(false);
          const flipped = proof.map((h, i) => (i === 0 ? Buffer.from(h).fill(h[0]! ^ 1, 0, 1) : h));
          expect(verifyInclusion(m, n, leaves[m]!, flipped, root)).toBe(false);
        }
      }
      expect(verifyInclusion(n, n, leaves[0]!, [], root)).toBe(false);
    }
  });

  it('verifies every consistency proof up to 33 leaves, and catches a rewritten prefix', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = tree(n);
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(leaves, m);
        const firstRoot = rootOf(leaves.slice(0, m));
        expect(verifyConsistency(m, n, firstRoot, rootOf(leaves), proof), `${m} → ${n}`).toBe(true);
        if (m > 0 && m < n) {
          // The operator rewrote entry 0 after publishing the head of size m.
          const rewritten = [leafHash(Buffer.from('rewritten')), ...leaves.slice(1)];
          const forged = consistencyProof(rewritten, m);
          expect(verifyConsistency(m, n, firstRoot, rootOf(rewritten), forged)).toBe(false);
          expect(verifyConsistency(m, n, firstRoot, rootOf(leaves), proof.slice(1))).toBe(false);
        }
      }
    }
  });

  it('an empty tree is a prefix of every tree; a bigger first tree is refused', () => {
    expect(verifyConsistency(0, 5, emptyRoot(), rootOf(tree(5)), [])).toBe(true);
    expect(verifyConsistency(5, 4, rootOf(tree(5)), rootOf(tree(4)), [])).toBe(false);
    expect(() => inclusionProof(tree(3), 3)).toThrow(RangeError);
  });
});
