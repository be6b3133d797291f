import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../ed25519';
import { tuskHome } from '../env';

/** The operator's signing key: receipts, tree heads and audit bundles are signed with it. */
export interface OperatorSigner {
  /** base64url raw Ed25519 public key: what auditors pin. */
  publicKey: string;
  sign(message: string): string;
}

/**
 * `TUSK_OPERATOR_SIGNING_KEY_FILE` (a PKCS#8 PEM), default `$TUSK_HOME/keys/operator-signing.ed25519.pem`.
 * A local run gets a key generated there on first start; under NODE_ENV=production a missing key is an
 * error, since a new key would make every earlier receipt and tree head unverifiable against it.
 */
export function operatorKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(
    env.TUSK_OPERATOR_SIGNING_KEY_FILE || join(tuskHome(), 'keys', 'operator-signing.ed25519.pem'),
  );
}

export async function loadOperatorSigner(
  path = operatorKeyFile(),
  generateIfMissing = process.env.NODE_ENV !== 'production',
): Promise<OperatorSigner> {
  let pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new Error(`cannot read the operator signing key ${path}: ${error.message}`);
  });
  if (pem === undefined) {
    if (!generateIfMissing)
      throw new Error(`no operator signing key at ${path} (set TUSK_OPERATOR_SIGNING_KEY_FILE)`);
    await mkdir(dirname(path), { recursive: true });
    // 'wx': two processes starting at once keep one key, never overwrite each other's.
    await writeFile(path, generateEd25519KeyPair().privateKeyPem, { mode: 0o600, flag: 'wx' }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
    pem = await readFile(path, 'utf8');
  }
  let publicKey: string;
  try {
    publicKey = publicKeyOf(pem);
  } catch {
    throw new Error(`the operator signing key ${path} is not an Ed25519 PKCS#8 PEM key`);
  }
  const privateKeyPem = pem;
  return { publicKey, sign: (message) => signEd25519(privateKeyPem, message) };
}
