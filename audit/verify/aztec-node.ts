import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { publicNftState, type PublicNftState } from '../../lib/transparency/anchor';

/**
 * What an auditor reads from an Aztec node, from this (Node 20) process. Transaction receipts are a
 * plain JSON-RPC call (`node_getTxReceipt`): no SDK, nothing to install. Public contract state needs
 * the storage slot of a map entry, a poseidon2 hash that only the Aztec SDK computes; so that read
 * shells out to the operator's tooling on the toolchain's Node 22 (`npm run aztec -- public-nft`).
 */

/** The node did not answer: the check could not be made (not a finding about the deal). */
export class AztecNodeUnreachable extends Error {
  override name = 'AztecNodeUnreachable';
  constructor(url: string, why: string) {
    super(`cannot reach the Aztec node at ${url}: ${why}`);
  }
}

export interface NodeTxReceipt {
  status: string;
  executionResult?: string;
  blockNumber?: number;
  error?: string;
}

const LANDED = new Set(['proposed', 'checkpointed', 'proven', 'finalized']);

/** The node's receipt of a transaction; `dropped` when the node does not know it. */
export async function txReceipt(nodeUrl: string, txHash: string): Promise<NodeTxReceipt> {
  let response: Response;
  try {
    response = await fetch(nodeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_getTxReceipt', params: [txHash] }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new AztecNodeUnreachable(nodeUrl, (error as Error).message);
  }
  const body = (await response.json()) as { result?: NodeTxReceipt; error?: { message: string } };
  if (!body.result) throw new Error(`the node refused ${txHash}: ${body.error?.message ?? response.status}`);
  return body.result;
}

/** Why a transaction does not count as landed and succeeded, or undefined when it does. */
export function txProblem(what: string, txHash: string, receipt: NodeTxReceipt): string | undefined {
  if (receipt.status === 'dropped')
    return `${what} transaction ${txHash} is unknown to the node (never sent, or dropped)`;
  if (!LANDED.has(receipt.status)) return `${what} transaction ${txHash} is still ${receipt.status}`;
  if (receipt.executionResult !== 'success')
    return `${what} transaction ${txHash} reverted: ${receipt.error ?? receipt.executionResult ?? 'no reason'}`;
  return undefined;
}

const REPO = join(__dirname, '../..');

/**
 * The public state of NFT token ids, or a reason it could not be read (no Aztec toolchain here, node
 * away). Runs `contracts/cli.ts public-nft` under the toolchain's Node 22.
 */
export async function publicNftStates(
  nodeUrl: string,
  contract: string,
  ids: string[],
): Promise<{ states: Record<string, PublicNftState> } | { unavailable: string }> {
  const launcher = join(REPO, 'scripts/aztec/node22');
  if (!existsSync(launcher)) return { unavailable: 'the Aztec tooling (scripts/aztec/node22) is not here' };
  const args = [join(REPO, 'contracts/cli.ts'), 'public-nft', contract, ...ids, '--node', nodeUrl];
  const output = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
    execFile(
      launcher,
      args,
      { timeout: 120_000, env: { ...process.env, LOG_LEVEL: 'error' } },
      (error, stdout, stderr) =>
        resolve({ stdout, stderr, code: error ? Number((error as { code?: number }).code ?? 1) : 0 }),
    ),
  );
  if (output.code !== 0)
    return { unavailable: output.stderr.trim().split('\n').at(-1) || `exit ${output.code}` };
  let json: unknown;
  try {
    json = JSON.parse(output.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    return { unavailable: `not JSON: ${output.stdout.slice(0, 200)}` };
  }
  const parsed = z.record(z.string(), publicNftState).safeParse(json);
  return parsed.success
    ? { states: parsed.data }
    : { unavailable: `unexpected answer: ${parsed.error.message}` };
}
