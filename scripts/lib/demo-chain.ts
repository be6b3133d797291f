import { join } from 'node:path';
import { TEST_ACCOUNT } from '../../contracts/deployment';
import { AztecCli } from './aztec-cli';
import {
  DEFAULT_AZTEC_NODE_URL,
  ensureAztecToolchain,
  isAztecNodeUp,
  startAztecNetwork,
  type AztecNetwork,
} from './aztec-network';
import { freeLoopbackPorts } from '../../stack/launcher';

export interface DemoChain {
  cli: AztecCli;
  /** Stops the network if the demo started it; one it found running is left alone. */
  stop(): Promise<void>;
}

/**
 * An Aztec network for the demo with the operator's contracts on it and a funded buyer: the one on
 * TUSK_AZTEC_NODE_URL or 127.0.0.1:8080 if it answers (npm run aztec:up), else a fresh local network
 * of its own. Installs the toolchain first if it is missing.
 */
export async function startDemoChain(home: string, say: (line: string) => void): Promise<DemoChain> {
  await ensureAztecToolchain(say);
  const url = process.env.TUSK_AZTEC_NODE_URL ?? DEFAULT_AZTEC_NODE_URL;
  let network: AztecNetwork | undefined;
  if (await isAztecNodeUp(url)) {
    say(`aztec: using the network on ${url}`);
  } else if (process.env.TUSK_AZTEC_NODE_URL) {
    throw new Error(`no Aztec node answers at TUSK_AZTEC_NODE_URL=${url}`);
  } else {
    const [port, anvilPort] = await freeLoopbackPorts(2);
    say('starting a local Aztec network (about 90 s; npm run aztec:up keeps one running between demos)…');
    network = await startAztecNetwork({
      port: port!,
      anvilPort: anvilPort!,
      dataDir: join(home, 'aztec-network'),
      log: say,
    });
  }
  const cli = new AztecCli(home, network?.url ?? url);
  try {
    const started = performance.now();
    say(
      'operator deploys the settlement Token and the receipt NFT, and mints 5000 to the buyer (3 transactions)…',
    );
    await cli.deploy();
    await cli.fund(TEST_ACCOUNT.buyer, 5000n);
    say(`settlement contracts ready (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    await network?.stop();
    throw error;
  }
  return { cli, stop: async () => network?.stop() };
}
