import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash, canonicalJson, sha256Ref } from './canonical-json';
import { open, seal } from './sealed-box';
import type { ReleasedTable } from './released-table';

const cell = z.union([z.string(), z.number(), z.null()]);

/** The plaintext inside a result box: only the buyer ever sees it. */
export const resultPayload = z.strictObject({
  dealId: z.string(),
  templateId: z.string(),
  templateHash: z.string(),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])),
  columns: z.array(z.string()),
  rows: z.array(z.array(cell)),
  /** How the answer was protected: the mechanism's parameters, nothing that depends on the data. */
  privacy: z.strictObject({
    mechanism: z.enum(['discrete_laplace', 'discrete_gaussian']),
    epsilonSpent: z.number(),
    delta: z.number(),
    noiseScales: z.record(z.string(), z.number()),
    minCohortSize: z.int(),
    groupRelease: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('declared_domain') }),
      z.strictObject({ kind: z.literal('partition_selection'), threshold: z.int(), delta: z.number() }),
    ]),
  }),
  /** Random: keeps the commitment from revealing a guessable table. */
  salt: z.string(),
});
export type ResultPayload = z.infer<typeof resultPayload>;

export const buyerKeyDocument = z.strictObject({ kind: z.literal('x25519'), publicKey: z.string() });

export function buildResultPayload(
  deal: Pick<ResultPayload, 'dealId' | 'templateId' | 'templateHash' | 'parameters'>,
  table: ReleasedTable,
): ResultPayload {
  return { ...deal, ...table, salt: randomBytes(16).toString('base64url') };
}

/** The commitment that the workflow history and the receipt carry. */
export function resultCommitment(payload: ResultPayload): string {
  return canonicalHash(payload);
}

/**
 * Seals a result padded to a length the data cannot change: the payload's JSON without its rows
 * (deal, template, parameters, mechanism: none of it from the data), plus `rowsBytes`, the template's
 * bound on its rows as JSON. The padding is trailing spaces, which JSON.parse skips and the
 * commitment (over the payload, not the bytes) does not see: the buyer's reader is unchanged.
 */
export async function sealResult(
  payload: ResultPayload,
  buyerPublicKey: string,
  rowsBytes: number,
): Promise<Buffer> {
  return (await sealCommittedResult(payload, buyerPublicKey, rowsBytes)).box;
}

/**
 * The sealed box and its commitment (what `resultCommitment` gives) from one canonical form of the
 * payload: a table of thousands of rows is canonicalised once, not once for each.
 */
export async function sealCommittedResult(
  payload: ResultPayload,
  buyerPublicKey: string,
  rowsBytes: number,
): Promise<{ box: Buffer; commitment: string }> {
  const canonical = canonicalJson(payload);
  const text = Buffer.from(canonical);
  const length = Buffer.byteLength(canonicalJson({ ...payload, rows: [] })) - 2 + rowsBytes;
  // Only a wrong bound could trip this; sealing a shorter box would tell the operator something.
  if (text.length > length)
    throw new Error(`the answer is ${text.length} bytes, above its bound of ${length}`);
  const padded = Buffer.alloc(length, 0x20);
  text.copy(padded);
  const box = await seal(padded, buyerPublicKey, `tusk result ${payload.dealId}`);
  return { box, commitment: sha256Ref(canonical) };
}

/** Opens a result box and checks it against the commitment the deal recorded. */
export async function openResult(
  box: Uint8Array,
  buyerPrivateKeyPem: string,
  dealId: string,
  expectedCommitment?: string,
): Promise<ResultPayload> {
  const payload = resultPayload.parse(
    JSON.parse((await open(box, buyerPrivateKeyPem, `tusk result ${dealId}`)).toString('utf8')),
  );
  if (payload.dealId !== dealId) throw new Error(`the result is for deal ${payload.dealId}, not ${dealId}`);
  if (expectedCommitment !== undefined && resultCommitment(payload) !== expectedCommitment) {
    throw new Error('the result does not match the commitment recorded for the deal');
  }
  return payload;
}
