import type SEALModule from 'node-seal';
import type { SEALLibrary } from 'node-seal/implementation/seal';
import type { BatchEncoder } from 'node-seal/implementation/batch-encoder';
import type { Context } from 'node-seal/implementation/context';
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { ComprModeType } from 'node-seal/implementation/compr-mode-type';
import type { SchemeType } from 'node-seal/implementation/scheme-type';
import type { SecurityLevel } from 'node-seal/implementation/security-level';

/**
 * The one BFV parameter set Tusk uses, fixed in code so every party encodes the same way:
 * N = 4096 slots, SEAL's default 109-bit coefficient modulus for N (128-bit security by the
 * HomomorphicEncryption.org table), and a 20-bit batching prime as plaintext modulus t = 1032193.
 * Fresh ciphertexts carry about 45 bits of noise budget; a plaintext product and a full rotation sum
 * leave about 10, additions cost next to nothing (tests/unit/he-arithmetic.test.ts checks both).
 */
export const HE_PARAMETERS = {
  scheme: 'bfv',
  polyModulusDegree: 4096,
  plainModulusBits: 20,
  plainModulus: 1032193n,
  securityBits: 128,
} as const;

/** Names the parameter set inside key documents and results, so a mismatch is refused by name. */
export const HE_PARAMETER_ID = 'bfv-n4096-t1032193-tc128';

export const SLOTS = HE_PARAMETERS.polyModulusDegree;

export interface HeContext {
  seal: SEALLibrary;
  context: Context;
  encoder: BatchEncoder;
  evaluator: Evaluator;
  /** How keys are serialised (node-seal types its enum members as any). */
  compression: ComprModeType;
  /**
   * How ciphertexts are serialised: uncompressed, so a ciphertext's length is fixed by the BFV
   * parameters. Compressed, it varied by about a hundred bytes with the ciphertext's contents, and an
   * answer's ciphertext is a function of the released values; the operator stores every blob.
   */
  ciphertextCompression: ComprModeType;
}

let shared: Promise<HeContext> | undefined;

/**
 * The process's SEAL context, encoder and evaluator: built once and kept for the process's life
 * (they are stateless helpers). Everything else made from them is freed by its user.
 */
export function heContext(): Promise<HeContext> {
  shared ??= (async () => {
    // Loaded on first use: a process that never computes on ciphertexts (the CLI) skips its wasm.
    const { default: SEAL } = (await import('node-seal')) as unknown as {
      default: typeof SEALModule;
    };
    const seal = await SEAL();
    const bfv = seal.SchemeType.bfv as SchemeType;
    const tc128 = seal.SecurityLevel.tc128 as SecurityLevel;
    const parameters = seal.EncryptionParameters(bfv);
    const coeffModulus = seal.CoeffModulus.BFVDefault(HE_PARAMETERS.polyModulusDegree, tc128);
    const plainModulus = seal.PlainModulus.Batching(
      HE_PARAMETERS.polyModulusDegree,
      HE_PARAMETERS.plainModulusBits,
    );
    try {
      parameters.setPolyModulusDegree(HE_PARAMETERS.polyModulusDegree);
      parameters.setCoeffModulus(coeffModulus);
      parameters.setPlainModulus(plainModulus);
      if (plainModulus.value !== HE_PARAMETERS.plainModulus)
        throw new Error(
          `SEAL chose plaintext modulus ${plainModulus.value}, expected ${HE_PARAMETERS.plainModulus}`,
        );
      const context = seal.Context(parameters, true, tc128);
      if (!context.parametersSet()) throw new Error('SEAL refused the BFV parameters');
      return {
        seal,
        context,
        encoder: seal.BatchEncoder(context),
        evaluator: seal.Evaluator(context),
        compression: seal.ComprModeType.zstd as ComprModeType,
        ciphertextCompression: seal.ComprModeType.none as ComprModeType,
      };
    } finally {
      parameters.delete();
      coeffModulus.delete();
      plainModulus.delete();
    }
  })();
  return shared;
}

/** Runs `work` and frees every SEAL object it handed to `keep`, whatever happens. */
export function sealScope<T>(work: (keep: <O extends { delete(): void }>(object: O) => O) => T): T {
  const objects: { delete(): void }[] = [];
  try {
    return work((object) => {
      objects.push(object);
      return object;
    });
  } finally {
    for (const object of objects.reverse()) object.delete();
  }
}
