import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency 2.0) over SHA-256: leaves are hashed as
 * SHA-256(0x00 || entry), interior nodes as SHA-256(0x01 || left || right), and the tree splits at the
 * largest power of two below its size. Proofs and their verification follow §2.1.3 and §2.1.4 step by
 * step, so any RFC 9162 / RFC 6962 verifier (Go's transparency-dev/merkle, Rust, Python) agrees.
 */
export type Hash = Buffer;

const sha256 = (...parts: Uint8Array[]): Hash => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const leafHash = (entry: Uint8Array): Hash => sha256(Buffer.of(0x00), entry);
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(Buffer.of(0x01), left, right);
export const emptyRoot = (): Hash => sha256();

/** The largest power of two strictly below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) from the leaf hashes. */
export function rootOf(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]) of §2.1.3.1, from the leaf hashes of the tree of size n. */
export function inclusionProof(leaves: readonly Hash[], m: number): Hash[] {
  if (!Number.isInteger(m) || m < 0 || m >= leaves.length)
    throw new RangeError(`leaf ${m} is not in a tree of size ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = splitPoint(leaves.length);
  return m < k
    ? [...inclusionProof(leaves.slice(0, k), m), rootOf(leaves.slice(k))]
    : [...inclusionProof(leaves.slice(k), m - k), rootOf(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) of §2.1.4.1: that the tree of size m is a prefix of the tree of size n. */
export function consistencyProof(leaves: readonly Hash[], m: number): Hash[] {
  if (!Number.isInteger(m) || m < 0 || m > leaves.length)
    throw new RangeError(`a tree of size ${leaves.length} has no prefix of size ${m}`);
  if (m === 0 || m === leaves.length) return [];
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: readonly Hash[], complete: boolean): Hash[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [rootOf(leaves)];
  const k = splitPoint(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
}

const isSet = (n: bigint) => (n & 1n) === 1n;

/** §2.1.3.2: does `proof` lead from the leaf hash at `index` to `root` in a tree of `size`? */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash) {
  if (!(index >= 0 && index < size)) return false;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isSet(fn))
        while (!isSet(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
    } else r = nodeHash(r, p);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

/** §2.1.4.2: is the tree of size `first` with `firstRoot` a prefix of the tree of size `second`? */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Hash,
  secondRoot: Hash,
  proof: readonly Hash[],
): boolean {
  if (!(first >= 0 && first <= second)) return false;
  // The empty tree is a prefix of every tree; a tree is consistent with itself when the roots agree.
  if (first === 0) return proof.length === 0;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while (isSet(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isSet(fn))
        while (!isSet(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
    } else sr = nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0n;
}
