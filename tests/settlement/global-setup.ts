import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { TestProject } from 'vitest/node';

import { TEST_ACCOUNT } from '../../contracts/deployment';
import { AztecCli } from '../../scripts/lib/aztec-cli';
import { ensureAztecToolchain, startAztecNetwork, type AztecNetwork } from '../../scripts/lib/aztec-network';
import { freeLoopbackPorts, startStack, type Stack } from '../../stack/launcher';
import { shareWorkflowBundle } from '../support/workflow-bundle';
import { withNetworkLock } from './network-lock';

/** What every settlement test file shares: the buyer's funds at the start, in smallest units. */
export const BUYER_FUNDS = 100_000n;

/**
 * Once per run: Temporal and Redis, a real Aztec local network (unless TUSK_AZTEC_NODE_URL names one),
 * the operator's Token and receipt NFT on it, and a funded buyer. Everything is stopped at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[settlement suite] ${line}`);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tusk-settlement-'));
  let stack: Stack | undefined;
  let network: AztecNetwork | undefined;
  const teardown = async () => {
    await network?.stop();
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await ensureAztecToolchain(log);
    stack = await startStack({ dataDir: path.join(dataDir, 'stack') });
    await shareWorkflowBundle(dataDir);
    let nodeUrl = process.env.TUSK_AZTEC_NODE_URL;
    if (!nodeUrl) {
      const [port, anvilPort] = await freeLoopbackPorts(2);
      network = await startAztecNetwork({
        port: port!,
        anvilPort: anvilPort!,
        dataDir: path.join(dataDir, 'aztec'),
        log,
      });
      nodeUrl = network.url;
    }
    const operatorHome = path.join(dataDir, 'operator');
    const cli = new AztecCli(operatorHome, nodeUrl);
    const started = performance.now();
    // Each run deploys its own Token and NFT, so runs sharing a network (chain lanes) never see each
    // other's balances; the same accounts play buyer, seller and operator in every run.
    await withNetworkLock(nodeUrl, () => cli.deploy());
    await cli.fund(TEST_ACCOUNT.buyer, BUYER_FUNDS);
    log(
      `Token and receipt NFT deployed, buyer funded (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    project.provide('temporalAddress', stack.temporalAddress);
    project.provide('redisUrl', stack.redisUrl);
    project.provide('aztecNodeUrl', nodeUrl);
    project.provide('aztecOperatorHome', operatorHome);
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
