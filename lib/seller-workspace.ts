import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** `seller.json`: the seller's id and public key. The one place its key is written down. */
export const sellerFile = z.strictObject({
  seller: slug,
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key (43 characters)'),
  /** The perimeter's release-signing key (`tusk seller init` makes it in the perimeter's state). */
  perimeterKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url Ed25519 public key (43 characters)')
    .optional(),
  /** The perimeter's X25519 sealing key: buyers' template proposals are sealed to it. */
  perimeterSealingKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url X25519 public key (43 characters)')
    .optional(),
});
export type SellerFile = z.infer<typeof sellerFile>;

/**
 * `perimeter.json`: what the seller's perimeter worker serves. Paths are relative to this file.
 * The seller's key is not copied here: it is read from `seller.json`.
 */
export const perimeterConfig = z.strictObject({
  sellerFile: z.string().min(1),
  /** Signed templates and the signed dataset policy. */
  policiesDir: z.string().min(1),
  /** Dataset (table) name → DuckDB file holding a table of that name. */
  datasets: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.string().min(1)),
  /** Privacy ledger and released answers. */
  stateDir: z.string().min(1).optional(),
  /** The operator's transparency log (its API's URL), where buyers' keys are registered. */
  logUrl: z.url().optional(),
  /** The operator's log-signing key, pinned out of band. */
  operatorPublicKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .optional(),
});
export type PerimeterConfig = z.infer<typeof perimeterConfig>;

export const SELLER_FILE = 'seller.json';
export const PERIMETER_FILE = 'perimeter.json';
export const DATABASE_FILE = 'data.duckdb';
/** The perimeter's privacy ledger, in its state directory. */
export const PRIVACY_LEDGER_FILE = 'privacy-ledger.sqlite';

/** A seller's own directory: key reference, templates, dataset policy, data, perimeter configuration. */
export const sellerWorkspace = (homeDir: string, sellerId: string) => {
  const dir = join(homeDir, 'sellers', sellerId);
  return {
    dir,
    sellerFile: join(dir, SELLER_FILE),
    perimeterFile: join(dir, PERIMETER_FILE),
    database: join(dir, DATABASE_FILE),
  };
};

function readJson<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${what} ${path} is not valid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const readSellerFile = (path: string) => readJson(path, sellerFile, 'seller file');

/** The perimeter's settings as the worker needs them, every path absolute. */
export interface ResolvedPerimeterConfig {
  sellerId: string;
  sellerPublicKey: string;
  policiesDir: string;
  datasets: Record<string, string>;
  stateDir?: string;
  logUrl?: string;
  operatorPublicKey?: string;
}

export function readPerimeterConfig(path: string): ResolvedPerimeterConfig {
  const config = readJson(path, perimeterConfig, 'perimeter configuration');
  const base = dirname(resolve(path));
  const seller = readSellerFile(resolve(base, config.sellerFile));
  return {
    sellerId: seller.seller,
    sellerPublicKey: seller.publicKey,
    policiesDir: resolve(base, config.policiesDir),
    datasets: Object.fromEntries(
      Object.entries(config.datasets).map(([name, file]) => [name, resolve(base, file)]),
    ),
    ...(config.stateDir ? { stateDir: resolve(base, config.stateDir) } : {}),
    ...(config.logUrl ? { logUrl: config.logUrl } : {}),
    ...(config.operatorPublicKey ? { operatorPublicKey: config.operatorPublicKey } : {}),
  };
}

/**
 * With TUSK_PERIMETER_CONFIG set, the perimeter's variables come from that file (and its seller.json);
 * a variable set explicitly still wins.
 */
export function applyPerimeterConfig(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.TUSK_PERIMETER_CONFIG) return;
  const config = readPerimeterConfig(env.TUSK_PERIMETER_CONFIG);
  env.TUSK_SELLER_ID ??= config.sellerId;
  env.TUSK_SELLER_PUBLIC_KEY ??= config.sellerPublicKey;
  env.TUSK_POLICIES_DIR ??= config.policiesDir;
  env.TUSK_DATASETS ??= Object.entries(config.datasets)
    .map(([name, file]) => `${name}=${file}`)
    .join(',');
  if (config.stateDir) env.TUSK_PERIMETER_STATE_DIR ??= config.stateDir;
  if (config.logUrl) env.TUSK_LOG_URL ??= config.logUrl;
  if (config.operatorPublicKey) env.TUSK_OPERATOR_PUBLIC_KEY ??= config.operatorPublicKey;
}
