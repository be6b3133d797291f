import { stat } from 'node:fs/promises';
import { ed25519PublicKey } from '../../lib/ed25519';
import { openSandbox, type SandboxLimits } from './sandbox';

/** Why one dataset cannot be served, or undefined when its file opens and holds its table. */
async function datasetProblem(
  name: string,
  path: string,
  limits: SandboxLimits,
): Promise<string | undefined> {
  const file = await stat(path).catch(() => undefined);
  if (!file) return `dataset ${name}: no DuckDB file at ${path}`;
  if (!file.isFile()) return `dataset ${name}: ${path} is not a file`;
  let instance;
  try {
    instance = await openSandbox(path, limits);
  } catch (error) {
    return `dataset ${name}: ${path} does not open as a DuckDB database (${(error as Error).message.split('\n')[0]})`;
  }
  const connection = await instance.connect();
  try {
    await connection.run(`SELECT * FROM "${name.replaceAll('"', '""')}" LIMIT 0`);
    return undefined;
  } catch {
    return `dataset ${name}: ${path} holds no table or view named ${name}`;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * What a perimeter worker checks before it says it is ready: the seller's public key is an Ed25519
 * key, and every dataset it is configured with is a DuckDB file holding the dataset's table. Returns
 * every problem found, so one start shows them all.
 */
export async function perimeterSetupProblems(setup: {
  sellerPublicKey: string;
  datasets: Record<string, string>;
  limits: SandboxLimits;
}): Promise<string[]> {
  const problems: string[] = [];
  try {
    ed25519PublicKey(setup.sellerPublicKey);
  } catch {
    problems.push('TUSK_SELLER_PUBLIC_KEY is not a base64url Ed25519 public key');
  }
  if (Object.keys(setup.datasets).length === 0) problems.push('TUSK_DATASETS names no dataset');
  for (const [name, path] of Object.entries(setup.datasets)) {
    const problem = await datasetProblem(name, path, setup.limits);
    if (problem) problems.push(problem);
  }
  return problems;
}
