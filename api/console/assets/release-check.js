// @ts-check
/**
 * The buyer's release check in the page, as sdk/release-check.ts does it for `tusk buyer result`: the
 * seller's perimeter key is read from the transparency log and believed only with inclusion proofs to
 * a tree head signed by the pinned operator key (lib/key-log.ts, lib/transparency/); then the
 * statement that came with the answer must be signed by that key, for this deal and this commitment
 * (lib/release-statement.ts). The operator can seal any bytes to the buyer's key; it cannot sign as
 * the seller's perimeter.
 */
import { canonicalHash, canonicalJson, fromBase64 } from './tusk-crypto.js';

const encoder = new TextEncoder();
const subtle = globalThis.crypto.subtle;

/** @param {...Uint8Array} parts */
async function sha256(...parts) {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await subtle.digest('SHA-256', joined));
}

/** @param {string} hex */
export const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
/** @param {Uint8Array} a @param {Uint8Array} b */
const equal = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);
/** RFC 9162 §2.1.1 interior node. @param {Uint8Array} left @param {Uint8Array} right */
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);
/** @param {unknown} entry */
export const entryLeafHash = (entry) => sha256(Uint8Array.of(0), encoder.encode(canonicalJson(entry)));
/** @param {bigint} n */
const isSet = (n) => (n & 1n) === 1n;

/**
 * RFC 9162 §2.1.3.2, as lib/transparency/merkle.ts's verifyInclusion.
 * @param {number} index @param {number} size @param {Uint8Array} leaf @param {Uint8Array[]} proof @param {Uint8Array} root
 */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index >= 0 && index < size)) return false;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!isSet(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else r = await nodeHash(r, p);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/**
 * RFC 9162 §2.1.4.2, as lib/transparency/merkle.ts's verifyConsistency.
 * @param {number} first @param {number} second @param {Uint8Array} firstRoot @param {Uint8Array} secondRoot @param {Uint8Array[]} proof
 */
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (!(first >= 0 && first <= second)) return false;
  if (first === 0) return proof.length === 0;
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while (isSet(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if (isSet(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!isSet(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else sr = await nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  return equal(fr, firstRoot) && equal(sr, secondRoot) && sn === 0n;
}

/** Ed25519 over a text, under a base64url raw public key. @param {string} publicKey @param {string} text @param {string} signature */
export async function verifyEd25519(publicKey, text, signature) {
  try {
    const key = await subtle.importKey('raw', fromBase64(publicKey), { name: 'Ed25519' }, false, ['verify']);
    return await subtle.verify({ name: 'Ed25519' }, key, fromBase64(signature), encoder.encode(text));
  } catch {
    return false;
  }
}

/**
 * Why a signed tree head is not the operator's (lib/transparency/tree-head.ts checkTreeHead), or ''.
 * @param {any} head @param {string} operatorKey
 */
export async function treeHeadProblem(head, operatorKey) {
  if (head?.body?.type !== 'tusk.tree-head/v1' || typeof head?.signature?.value !== 'string')
    return 'the tree head is malformed';
  if (head.signature.publicKey !== operatorKey)
    return `the tree head is signed by key ${head.signature.publicKey}, not the operator's pinned key ${operatorKey}`;
  if (!(await verifyEd25519(operatorKey, canonicalJson(head.body), head.signature.value)))
    return 'the tree head signature does not match (changed after signing?)';
  return '';
}

/**
 * A party's current key of one purpose, from `GET /log/keys/:party?purpose=...`, checked as
 * lib/transparency/key-registration.ts's checkKeyRegistrations does; throws what cannot be believed.
 * @param {{ get: (path: string) => Promise<any> }} client @param {string} partyId @param {string} operatorKey
 * @param {'party' | 'perimeter' | 'perimeter-sealing'} purpose
 * @returns {Promise<string | undefined>}
 */
export async function registeredKeyOf(client, partyId, operatorKey, purpose) {
  const subject = `key:${purpose}:${partyId}`;
  const answer = await client.get(`/log/keys/${encodeURIComponent(partyId)}?purpose=${purpose}&since=0`);
  const headProblem = await treeHeadProblem(answer?.treeHead, operatorKey);
  if (headProblem) throw new Error(`the transparency log cannot be trusted: ${headProblem}`);
  const root = fromHex(answer.treeHead.body.rootHash);
  /** @type {{ registration: any, leafIndex: number }[]} */
  const registrations = [];
  for (const { registration, leafIndex, path } of answer.registrations ?? []) {
    const entry = {
      type: 'tusk.log-entry/v1',
      kind: 'key-registration',
      dealId: `key:${registration.purpose}:${registration.partyId}`,
      digest: await canonicalHash(registration),
    };
    if (entry.dealId !== subject)
      throw new Error(`the transparency log gave a registration of ${entry.dealId} for ${subject}`);
    const proof = (path ?? []).map(fromHex);
    const size = answer.treeHead.body.treeSize;
    if (!(await verifyInclusion(leafIndex, size, await entryLeafHash(entry), proof, root)))
      throw new Error(`the registration at leaf ${leafIndex} is not in the log's signed head`);
    registrations.push({ registration, leafIndex });
  }
  registrations.sort((a, b) => a.registration.sequence - b.registration.sequence);
  // Sequences count from 0 without gaps: a registration left out (a rotation hidden) shows.
  if (registrations.some((r, i) => r.registration.sequence !== i))
    throw new Error(`the transparency log's answer about ${subject} leaves a registration out`);
  if (registrations.some((r, i) => i > 0 && r.leafIndex < registrations[i - 1].leafIndex))
    throw new Error(
      `the transparency log's answer about ${subject} logs a registration before its predecessor`,
    );
  return registrations.at(-1)?.registration.publicKey;
}

/** The seller's current perimeter (signing) key. @param {{ get: (path: string) => Promise<any> }} client @param {string} sellerId @param {string} operatorKey */
export const registeredPerimeterKey = (client, sellerId, operatorKey) =>
  registeredKeyOf(client, sellerId, operatorKey, 'perimeter');

/**
 * Every reason the statement is not the seller's perimeter's word for this sealed table, as
 * lib/release-statement.ts's releaseStatementProblems; empty when it is.
 * @param {any} statement
 * @param {{ perimeterKey: string, dealId: string, commitment: string, termsHash?: string, kind?: string }} expected
 */
export async function releaseStatementProblems(statement, expected) {
  const body = statement?.body;
  if (body?.type !== 'tusk.release/v1' || typeof statement.signature !== 'string')
    return ['no well-formed release statement signed by the seller comes with the answer'];
  const problems = [];
  if (statement.publicKey !== expected.perimeterKey)
    problems.push(
      `signed by ${statement.publicKey}, not the seller's registered perimeter key ${expected.perimeterKey}`,
    );
  else if (
    !(await verifyEd25519(
      statement.publicKey,
      `tusk release v1\n${canonicalJson(body)}`,
      statement.signature,
    ))
  )
    problems.push("the perimeter's signature does not verify");
  const kind = expected.kind ?? 'sealed_table';
  if (body.kind !== kind) problems.push(`it states a ${body.kind} release, not the ${kind} delivered`);
  if (body.dealId !== expected.dealId)
    problems.push(`it releases deal ${body.dealId}, not ${expected.dealId}`);
  if (body.commitment !== expected.commitment)
    problems.push(
      `the seller released commitment ${body.commitment}, not the ${expected.commitment} delivered`,
    );
  if (expected.termsHash !== undefined && body.termsHash !== expected.termsHash)
    problems.push('it answers other terms than the ones the buyer signed');
  return problems;
}

/**
 * What `tusk buyer result` checks before opening: the reasons to refuse this sealed answer (none: accept).
 * @param {{ get: (path: string) => Promise<any> }} client
 * @param {{ dealId: string, commitment: string, release?: unknown }} sealed
 * @param {string} sellerId @param {string} operatorKey
 * @param {{ termsHash?: string, kind?: string }} [also] the hash of the terms the buyer signed and kept,
 *   which the statement must name; the kind of release delivered (a deal's sealed_table unless told)
 */
export async function releaseProblems(client, sealed, sellerId, operatorKey, also = {}) {
  const perimeterKey = await registeredPerimeterKey(client, sellerId, operatorKey);
  if (!perimeterKey)
    return [
      `seller ${sellerId} has no perimeter key in the transparency log, so nothing it releases can be checked`,
    ];
  return releaseStatementProblems(sealed.release, {
    perimeterKey,
    dealId: sealed.dealId,
    commitment: sealed.commitment,
    ...also,
  });
}
