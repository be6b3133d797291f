import { setTimeout as sleep } from 'node:timers/promises';
import type { AztecNode, AztecSdk } from './sdk';

/**
 * A client for the Aztec node at `url` once it answers, or a clear error after `timeoutMs`: the SDK's
 * own client retries a node that is not there without end.
 */
export async function connectToNode(sdk: AztecSdk, url: string, timeoutMs = 30_000): Promise<AztecNode> {
  const node = sdk.createAztecNodeClient(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answered = await Promise.race([
      node.getBlockNumber().then(
        () => true,
        () => false,
      ),
      sleep(5_000).then(() => false),
    ]);
    if (answered) return node;
    if (Date.now() > deadline)
      throw new Error(`no Aztec node answers at ${url}: start the local network with npm run aztec:up`);
    await sleep(1_000);
  }
}
