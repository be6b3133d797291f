import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';

const address = z.string().regex(/^0x[0-9a-f]{64}$/, 'an Aztec address: 0x and 64 hex digits');

/**
 * What the operator deployed once on a network (`npm run aztec:deploy`): the settlement Token and the
 * receipt NFT, and who the operator is. Public facts only; the escrow master secret is a file of its own.
 */
export const settlementDeployment = z.strictObject({
  nodeUrl: z.url(),
  l1ChainId: z.number().int(),
  rollupVersion: z.number().int(),
  token: address,
  receipts: address,
  /** The operator's account: on a local network, one of its funded test accounts. */
  operator: z.strictObject({ testAccount: z.number().int().min(0), address }),
  /** The local network's funded test accounts by index (0 operator, 1 demo buyer, 2 demo seller). */
  testAccounts: z.array(address),
  deployedAt: z.string(),
});
export type SettlementDeployment = z.infer<typeof settlementDeployment>;

/** Which of the local network's funded test accounts plays which part in the demo and the tests. */
export const TEST_ACCOUNT = { operator: 0, buyer: 1, seller: 2 } as const;

/** Where a Tusk home keeps its Aztec deployment and the escrow master secret. */
export const aztecPaths = (tuskHome: string) => ({
  deployment: process.env.TUSK_AZTEC_DEPLOYMENT ?? join(tuskHome, 'aztec', 'deployment.json'),
  escrowSecret: process.env.TUSK_ESCROW_SECRET_FILE ?? join(tuskHome, 'aztec', 'escrow-master.key'),
});

export async function readDeployment(path: string): Promise<SettlementDeployment> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`no Aztec settlement deployment at ${path}: run npm run aztec:deploy`);
  }
  const parsed = settlementDeployment.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(`the Aztec deployment file ${path} is not valid: ${parsed.error.message}`);
  return parsed.data;
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, text, { mode, flush: true });
  await rename(temporary, path);
}

export const writeDeployment = (path: string, deployment: SettlementDeployment) =>
  writeAtomic(path, `${JSON.stringify(settlementDeployment.parse(deployment), null, 2)}\n`, 0o644);

/** The escrow master secret: made once, readable by its owner only, never printed. */
export async function readOrCreateEscrowSecret(path: string): Promise<Buffer> {
  try {
    return await readEscrowSecret(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await writeAtomic(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
  return readEscrowSecret(path);
}

export async function readEscrowSecret(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new Error(`the escrow master secret in ${path} is not 64 hex digits`);
  return Buffer.from(text, 'hex');
}
