import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  checkDatasetPolicySignature,
  datasetPolicy,
  datasetPolicySignature,
  type DatasetPolicy,
  type DatasetPolicySignature,
} from './dataset-policy';

export const DATASET_POLICY_FILE = 'dataset-policy.json';

/** A dataset policy file that is missing, not JSON, not valid, or not signed by the trusted seller key. */
export class DatasetPolicyError extends Error {
  override name = 'DatasetPolicyError';
}

export const signedDatasetPolicy = z.strictObject({
  policy: datasetPolicy,
  signature: datasetPolicySignature,
});
export interface SignedDatasetPolicy {
  policy: DatasetPolicy;
  signature: DatasetPolicySignature;
}

export const datasetPolicyPath = (policiesDir: string) => join(policiesDir, DATASET_POLICY_FILE);

/** Reads `<policiesDir>/dataset-policy.json` ({ policy, signature }) and validates its shape. */
export async function readDatasetPolicyFile(policiesDir: string): Promise<SignedDatasetPolicy> {
  const path = datasetPolicyPath(policiesDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DatasetPolicyError(`dataset policy ${path} does not exist or cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DatasetPolicyError(`dataset policy ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = signedDatasetPolicy.safeParse(json);
  if (!parsed.success) {
    throw new DatasetPolicyError(`dataset policy ${path} is not valid:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The policy as the perimeter trusts it: read, signed by `sellerPublicKey` (the perimeter's own
 * configuration, never the key inside the file), and for this seller.
 */
export async function readTrustedDatasetPolicy(
  policiesDir: string,
  sellerId: string,
  sellerPublicKey: string,
): Promise<DatasetPolicy> {
  const { policy, signature } = await readDatasetPolicyFile(policiesDir);
  const path = datasetPolicyPath(policiesDir);
  if (policy.seller !== sellerId)
    throw new DatasetPolicyError(
      `dataset policy ${path} belongs to seller ${policy.seller}, not ${sellerId}`,
    );
  const check = checkDatasetPolicySignature(policy, signature, sellerPublicKey);
  if (!check.ok) throw new DatasetPolicyError(`dataset policy ${path} is not approved: ${check.reason}`);
  return policy;
}
