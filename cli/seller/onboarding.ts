import { z } from 'zod';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { generateEd25519KeyPair, publicKeyOf } from '../../lib/ed25519';
import { loadPerimeterKey, loadPerimeterSealingKey } from '../../lib/perimeter-key';
import { SELLER_FILE, sellerWorkspace } from '../../lib/seller-workspace';
import { datasetPolicyPath, readDatasetPolicyFile } from '../../query-policies/dataset-policy-file';
import { datasetPolicy, signDatasetPolicy, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { CliError, home, keyPaths, writeFileAtomic } from '../common';
import { readWorkspace, writePerimeterFile } from './workspace';

/** The perimeter's state directory inside the workspace: its ledger and its signing key. */
const PERIMETER_STATE_DIR = 'state';

/**
 * Makes a seller's key (or keeps the one it has), `seller.json` (the one place its public key is
 * written) and the perimeter's configuration, which reads the key from `seller.json`.
 */
export async function initSeller(sellerId: string, options: { home?: string }): Promise<void> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(sellerId))
    throw new CliError('a seller id is lower-case letters, digits and dashes');
  const homeDir = home(options.home);
  const workspace = sellerWorkspace(homeDir, sellerId);
  if (existsSync(workspace.sellerFile)) throw new CliError(`${workspace.sellerFile} exists; not overwriting`);
  const keyPath = keyPaths(homeDir, sellerId).signing;
  let publicKey: string;
  if (existsSync(keyPath)) {
    publicKey = publicKeyOf(await readFile(keyPath, 'utf8'));
  } else {
    const keys = generateEd25519KeyPair();
    await writeFileAtomic(keyPath, keys.privateKeyPem, 0o600);
    publicKey = keys.publicKey;
  }
  // The perimeter's own key, made now so the operator registers it with the seller (party add --from).
  const perimeterKey = (await loadPerimeterKey(join(workspace.dir, PERIMETER_STATE_DIR))).publicKey;
  const perimeterSealingKey = (await loadPerimeterSealingKey(join(workspace.dir, PERIMETER_STATE_DIR)))
    .publicKey;
  await writeFileAtomic(
    workspace.sellerFile,
    `${JSON.stringify({ seller: sellerId, publicKey, perimeterKey, perimeterSealingKey }, null, 2)}\n`,
  );
  await writePerimeterFile(workspace, {
    sellerFile: SELLER_FILE,
    policiesDir: '.',
    datasets: {},
    stateDir: PERIMETER_STATE_DIR,
  });
  console.log(
    [
      `seller ${sellerId}`,
      `  signing key (keep it private): ${keyPath}`,
      `  public key:                    ${publicKey} (in ${workspace.sellerFile})`,
      `  perimeter key:                 ${perimeterKey} (signs what the perimeter releases)`,
      `  perimeter sealing key:         ${perimeterSealingKey} (template proposals are sealed to it)`,
      `  perimeter configuration:       ${workspace.perimeterFile}`,
      'next:',
      `  tusk seller import <file.csv|file.parquet> --table NAME --seller ${sellerId}`,
      `  tusk seller policy --seller ${sellerId} --dataset NAME     (privacy budgets, signed)`,
      `  tusk operator party add ${sellerId} --from ${workspace.sellerFile}   (registers its keys)`,
      '  tusk up     (the service on this machine runs this perimeter from its perimeter.json)',
      `  or, beside another operator's service: set logUrl and operatorPublicKey in ${workspace.perimeterFile}`,
      '     (its API and log key) and run `tusk up --perimeter` with TEMPORAL_ADDRESS set',
    ].join('\n'),
  );
}

export interface PolicyOptions {
  seller?: string;
  home?: string;
  dataset: string;
  windowDays?: string;
  budgetGroup?: string;
  epsilon: string;
  delta: string;
  buyerEpsilon: string;
  buyerDelta: string;
  /** A JSON file of the dataset's declared column domains (query-policies/column-domains.ts). */
  columns?: string;
}

/** The declared column domains: from --columns, else those the current policy declares. */
async function columnsOf(options: PolicyOptions, current: DatasetPolicy | undefined): Promise<unknown> {
  if (options.columns === undefined) return current?.datasets[options.dataset]?.columns;
  const text = await readFile(options.columns, 'utf8').catch(() => {
    throw new CliError(`cannot read ${options.columns}`);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${options.columns} is not JSON`);
  }
}

const number = (value: string, flag: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new CliError(`${flag} takes a number, got ${value}`);
  return parsed;
};

/**
 * Sets one dataset's budgets in the seller's dataset policy and signs the whole policy again with a
 * new version. The perimeter trusts budgets only from this signed file.
 */
export async function signPolicy(options: PolicyOptions): Promise<void> {
  const workspace = await readWorkspace(options);
  const current: DatasetPolicy | undefined = existsSync(datasetPolicyPath(workspace.dir))
    ? (
        await readDatasetPolicyFile(workspace.dir).catch((error: Error) => {
          throw new CliError(error.message);
        })
      ).policy
    : undefined;
  const columns = await columnsOf(options, current);
  const parsed = datasetPolicy.safeParse({
    seller: workspace.seller.seller,
    version: (current?.version ?? 0) + 1,
    datasets: {
      ...current?.datasets,
      [options.dataset]: {
        ...(options.windowDays === undefined
          ? {}
          : { windowDays: number(options.windowDays, '--window-days') }),
        ...(options.budgetGroup === undefined ? {} : { budgetGroup: options.budgetGroup }),
        ...(columns === undefined ? {} : { columns }),
        total: { epsilon: number(options.epsilon, '--epsilon'), delta: number(options.delta, '--delta') },
        perBuyer: {
          epsilon: number(options.buyerEpsilon, '--buyer-epsilon'),
          delta: number(options.buyerDelta, '--buyer-delta'),
        },
      },
    },
  });
  if (!parsed.success) throw new CliError(z.prettifyError(parsed.error));
  const key = await readFile(workspace.signingKeyPath, 'utf8').catch(() => {
    throw new CliError(`signing key not found at ${workspace.signingKeyPath}`);
  });
  if (publicKeyOf(key) !== workspace.seller.publicKey)
    throw new CliError(`${workspace.signingKeyPath} is not the key of ${workspace.sellerFile}`, 1);
  const policy = parsed.data;
  await writeFileAtomic(
    datasetPolicyPath(workspace.dir),
    `${JSON.stringify({ policy, signature: signDatasetPolicy(policy, key) }, null, 2)}\n`,
  );
  const budget = policy.datasets[options.dataset]!;
  console.log(
    `dataset policy v${policy.version} signed: ${options.dataset} ` +
      (budget.windowDays === undefined ? 'for its lifetime, ' : `per ${budget.windowDays} days, `) +
      (budget.budgetGroup ? `sharing group ${budget.budgetGroup}'s budget, ` : '') +
      `all buyers ε ${budget.total.epsilon} δ ${budget.total.delta}, one buyer ε ${budget.perBuyer.epsilon} δ ${budget.perBuyer.delta}\n` +
      `  ${datasetPolicyPath(workspace.dir)} (restart the perimeter to use it)`,
  );
}
