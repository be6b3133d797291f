import type { CipherText } from 'node-seal/implementation/cipher-text';
import { heContext, sealScope, SLOTS, type HeContext } from './seal-context';
import { rotationSteps, type VectorLayout } from './vector-layout';

/** A key or ciphertext that does not load under Tusk's parameters: never computed on. */
export class HeKeyError extends Error {
  override name = 'HeKeyError';
}

function loadCiphertext(he: HeContext, bytes: Uint8Array): CipherText {
  const ciphertext = he.seal.CipherText();
  try {
    ciphertext.loadArray(he.context, bytes);
    return ciphertext;
  } catch {
    ciphertext.delete();
    throw new HeKeyError(
      'a ciphertext does not load under the BFV parameters (corrupt, or made for other keys)',
    );
  }
}

function loadKey<
  K extends { loadArray(context: HeContext['context'], bytes: Uint8Array): void; delete(): void },
>(he: HeContext, key: K, bytes: Uint8Array, what: string): K {
  try {
    key.loadArray(he.context, bytes);
    return key;
  } catch {
    key.delete();
    throw new HeKeyError(`the ${what} does not load under the BFV parameters`);
  }
}

const save = (he: HeContext, ciphertext: CipherText) => ciphertext.saveArray(he.ciphertextCompression);

/** Encrypts plain slot vectors to a public key: one ciphertext per chunk. */
export async function encryptChunks(
  publicKey: Uint8Array,
  chunks: readonly Uint32Array[],
): Promise<Uint8Array[]> {
  const he = await heContext();
  return sealScope((keep) => {
    const key = keep(loadKey(he, he.seal.PublicKey(), publicKey, 'public key'));
    const encryptor = keep(he.seal.Encryptor(he.context, key));
    return chunks.map((slots) =>
      sealScope((local) => {
        const plain = local(he.encoder.encode(slots) as ReturnType<typeof he.seal.PlainText>);
        return save(he, local(encryptor.encrypt(plain) as CipherText));
      }),
    );
  });
}

/**
 * Adds several parties' ciphertext vectors slot-wise: what the coordinator does. It needs no key,
 * and its output opens only with the secret key the parts were encrypted to.
 */
export async function sumChunks(parts: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[]> {
  const he = await heContext();
  const chunkCount = parts[0]?.length ?? 0;
  if (parts.some((part) => part.length !== chunkCount))
    throw new HeKeyError('the parts have different lengths');
  return Array.from({ length: chunkCount }, (_, chunk) =>
    sealScope((keep) => {
      const total = keep(loadCiphertext(he, parts[0]![chunk]!));
      for (const part of parts.slice(1)) {
        const addend = keep(loadCiphertext(he, part[chunk]!));
        he.evaluator.add(total, addend, total);
      }
      return save(he, total);
    }),
  );
}

/**
 * The private selection's inner product: each encrypted selection chunk times the plain value
 * chunk, added, then rotated and added so every group's block lands on slots 0 … stride−1.
 * Only the buyer's secret key opens the result, and it holds nothing but the selected groups' sums.
 */
export async function innerProduct(
  layout: VectorLayout,
  selection: readonly Uint8Array[],
  values: readonly Uint32Array[],
  galoisKeys: Uint8Array,
  publicKey: Uint8Array,
): Promise<Uint8Array> {
  if (selection.length !== layout.chunks || values.length !== layout.chunks)
    throw new HeKeyError(`the selection must be ${layout.chunks} ciphertexts`);
  const he = await heContext();
  return sealScope((keep) => {
    const galois = keep(loadKey(he, he.seal.GaloisKeys(), galoisKeys, 'Galois key set'));
    const total = keep(he.seal.CipherText());
    // SEAL refuses to multiply by an all-zero plaintext (the product would be transparent): such a
    // chunk adds nothing, and when every chunk is zero the answer is a fresh encryption of zeros.
    const nonZero = values.flatMap((slots, chunk) => (slots.some((slot) => slot !== 0) ? [chunk] : []));
    if (nonZero.length === 0)
      return encryptChunks(publicKey, [new Uint32Array(SLOTS)]).then(([zeros]) => zeros!);
    nonZero.forEach((chunk, position) =>
      sealScope((local) => {
        const chosen = local(loadCiphertext(he, selection[chunk]!));
        const plain = local(he.encoder.encode(values[chunk]!) as ReturnType<typeof he.seal.PlainText>);
        if (position === 0) he.evaluator.multiplyPlain(chosen, plain, total);
        else {
          const product = local(he.evaluator.multiplyPlain(chosen, plain) as CipherText);
          he.evaluator.add(total, product, total);
        }
      }),
    );
    try {
      for (const step of rotationSteps(layout))
        sealScope((local) => {
          const rotated = local(he.evaluator.rotateRows(total, step, galois) as CipherText);
          he.evaluator.add(total, rotated, total);
        });
      sealScope((local) => {
        const swapped = local(he.evaluator.rotateColumns(total, galois) as CipherText);
        he.evaluator.add(total, swapped, total);
      });
    } catch {
      throw new HeKeyError('the Galois keys lack a rotation the selection needs');
    }
    return Promise.resolve(save(he, total));
  });
}

export interface Decrypted {
  slots: Uint32Array[];
  /** The smallest remaining noise budget, in bits: above 0 means every slot decrypted exactly. */
  noiseBudgetBits: number;
}

/**
 * Decrypts with the buyer's secret key. A ciphertext with no noise budget left (made for another
 * key, or computed too deep) is refused: decrypting it would return garbage, not an answer.
 */
export async function decryptChunks(
  secretKey: Uint8Array,
  ciphertexts: readonly Uint8Array[],
): Promise<Decrypted> {
  const he = await heContext();
  return sealScope((keep) => {
    const key = keep(loadKey(he, he.seal.SecretKey(), secretKey, 'secret key'));
    const decryptor = keep(he.seal.Decryptor(he.context, key));
    let noiseBudgetBits = Number.POSITIVE_INFINITY;
    const slots = ciphertexts.map((bytes) =>
      sealScope((local) => {
        const ciphertext = local(loadCiphertext(he, bytes));
        const budget = decryptor.invariantNoiseBudget(ciphertext);
        if (budget <= 0)
          throw new HeKeyError(
            'this ciphertext does not decrypt with this secret key (wrong key, or no noise budget left)',
          );
        noiseBudgetBits = Math.min(noiseBudgetBits, budget);
        const plain = local(decryptor.decrypt(ciphertext) as ReturnType<typeof he.seal.PlainText>);
        const decoded = he.encoder.decode(plain, false);
        if (decoded.length !== SLOTS) throw new HeKeyError('a decrypted vector has the wrong length');
        return Uint32Array.from(decoded);
      }),
    );
    return { slots, noiseBudgetBits };
  });
}
