import { z } from 'zod';
import { HE_PARAMETER_ID } from './seal-context';

/**
 * An encrypted vector in the blob store: a seller's contribution, the coordinator's sum, or a
 * private selection's answer. It names the key it is encrypted to and the template's columns, never
 * the values; the buyer's tools check `keyRef` before decrypting.
 */
export const heVectorEnvelope = z.strictObject({
  kind: z.enum(['contribution', 'sum', 'selection']),
  parameters: z.literal(HE_PARAMETER_ID),
  dealId: z.string(),
  keyRef: z.string(),
  /** The released quantities, in slot order: `units`, then each summed metric. */
  quantities: z.array(z.string()).min(1),
  groups: z.int().min(1),
  /** How many sellers' vectors were added (sums only). */
  contributors: z.int().min(1).optional(),
  ciphertexts: z.array(z.string()).min(1),
});
export type HeVectorEnvelope = z.infer<typeof heVectorEnvelope>;

export const encodeEnvelope = (envelope: HeVectorEnvelope) => Buffer.from(JSON.stringify(envelope));

export function decodeEnvelope(bytes: Uint8Array): HeVectorEnvelope {
  return heVectorEnvelope.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
}

export const ciphertextBytes = (envelope: HeVectorEnvelope) =>
  envelope.ciphertexts.map((text) => new Uint8Array(Buffer.from(text, 'base64')));
export const ciphertextTexts = (ciphertexts: readonly Uint8Array[]) =>
  ciphertexts.map((bytes) => Buffer.from(bytes).toString('base64'));
