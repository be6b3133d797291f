import { z } from 'zod';
import { HE_PARAMETER_ID, HE_PARAMETERS } from './seal-context';
import { FOUR_LIMBS, limbEncoding, type LimbEncoding } from './vector-layout';

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
  /** The limbs' width in bits when it is not 13 (the four-limb layout): wider sums, narrower limbs. */
  limbBits: z
    .int()
    .min(1)
    .max(HE_PARAMETERS.plainModulusBits - 1)
    .optional(),
  /** How many sellers' vectors were added (sums only). */
  contributors: z.int().min(1).optional(),
  ciphertexts: z.array(z.string()).min(1),
});
export type HeVectorEnvelope = z.infer<typeof heVectorEnvelope>;

/** The limb encoding an envelope's vectors were made with. */
export const encodingOf = (envelope: Pick<HeVectorEnvelope, 'limbBits'>): LimbEncoding =>
  envelope.limbBits === undefined ? FOUR_LIMBS : limbEncoding(envelope.limbBits);

/**
 * The envelope field naming an encoding: absent for the four-limb one, so envelopes made before the
 * width varied (and the sums an auditor adds again from them) keep their exact bytes.
 */
export const limbBitsField = (encoding: LimbEncoding): Pick<HeVectorEnvelope, 'limbBits'> =>
  encoding.limbBits === FOUR_LIMBS.limbBits ? {} : { limbBits: encoding.limbBits };

export const encodeEnvelope = (envelope: HeVectorEnvelope) => Buffer.from(JSON.stringify(envelope));

export function decodeEnvelope(bytes: Uint8Array): HeVectorEnvelope {
  return heVectorEnvelope.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
}

export const ciphertextBytes = (envelope: HeVectorEnvelope) =>
  envelope.ciphertexts.map((text) => new Uint8Array(Buffer.from(text, 'base64')));
export const ciphertextTexts = (ciphertexts: readonly Uint8Array[]) =>
  ciphertexts.map((bytes) => Buffer.from(bytes).toString('base64'));
