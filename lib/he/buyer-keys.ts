import { z } from 'zod';
import { heContext, sealScope, HE_PARAMETER_ID, SLOTS } from './seal-context';

/** The BFV keys a buyer makes on its own machine; only `secretKey` opens results, and it stays there. */
export interface HeKeyPair {
  publicKey: Uint8Array;
  /** Rotation keys for every power-of-two step and the row swap: the private selection needs them. */
  galoisKeys: Uint8Array;
  secretKey: Uint8Array;
}

export async function generateHeKeys(): Promise<HeKeyPair> {
  const he = await heContext();
  return sealScope((keep) => {
    const generator = keep(he.seal.KeyGenerator(he.context));
    const publicKey = keep(generator.createPublicKey());
    const secretKey = keep(generator.secretKey());
    const steps = [0];
    for (let step = 1; step < SLOTS / 2; step *= 2) steps.push(step);
    // The serializable form is seeded: half the size of expanded Galois keys.
    const galois = keep(generator.createGaloisKeysSerializable(Int32Array.from(steps)));
    const zstd = he.compression;
    return {
      publicKey: publicKey.saveArray(zstd),
      galoisKeys: galois.saveArray(zstd),
      secretKey: secretKey.saveArray(zstd),
    };
  });
}

/**
 * What the service holds of a buyer's HE keys: a small document in the blob store naming the
 * public key's and the Galois keys' blobs. Its own blob reference is the key's identity: results
 * carry it, and the buyer's tools refuse a result made for another key.
 */
export const heKeyDocument = z.strictObject({
  kind: z.literal('bfv'),
  parameters: z.literal(HE_PARAMETER_ID),
  publicKeyRef: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  galoisKeysRef: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});
export type HeKeyDocument = z.infer<typeof heKeyDocument>;

/** The buyer's local secret key file (never uploaded). */
export const heSecretKeyFile = z.strictObject({
  kind: z.literal('bfv-secret'),
  parameters: z.literal(HE_PARAMETER_ID),
  /** The key document's blob reference: the identity results are encrypted to. */
  keyRef: z.string(),
  /** The public key too (base64), so the buyer can encrypt its selections without a download. */
  publicKey: z.string(),
  secretKey: z.string(),
});
export type HeSecretKeyFile = z.infer<typeof heSecretKeyFile>;
