import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureAztecToolchain, isAztecNodeUp, startAztecNetwork } from '../lib/aztec-network';
import { NETWORK_DIR, NETWORK_STATE } from './network-state';

const say = (line: string) => console.log(`aztec: ${line}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** npm run aztec:up: a local network on 127.0.0.1 that keeps running until npm run aztec:down. */
async function main(): Promise<void> {
  const port = Number(process.env.TUSK_AZTEC_PORT ?? 8080);
  const anvilPort = Number(process.env.TUSK_ANVIL_PORT ?? 8545);
  const url = `http://127.0.0.1:${port}`;
  if (await isAztecNodeUp(url)) {
    say(`a node already answers on ${url}; nothing started`);
    return;
  }
  for (const [name, value] of [
    ['TUSK_AZTEC_PORT', port],
    ['TUSK_ANVIL_PORT', anvilPort],
  ] as const) {
    if (!(await portFree(value))) throw new Error(`port ${value} is in use; choose another with ${name}`);
  }
  await ensureAztecToolchain(say);
  await mkdir(NETWORK_DIR, { recursive: true });
  say(`starting a local network on ${url} (anvil on ${anvilPort}); this takes a minute or two…`);
  const network = await startAztecNetwork({
    port,
    anvilPort,
    dataDir: NETWORK_DIR,
    log: () => undefined, // the line below says it, with where the log is
    outliveCaller: true,
  });
  const startupSeconds = Number((network.startupMs / 1000).toFixed(1));
  await writeFile(
    NETWORK_STATE,
    `${JSON.stringify({ pid: network.pid, url, anvilPort, startedAt: new Date().toISOString(), startupSeconds })}\n`,
  );
  say(
    `ready on ${url} after ${startupSeconds} s (log ${join(NETWORK_DIR, 'aztec.log')}); npm run aztec:down stops it`,
  );
  say(
    'its state lives in memory: after a restart, deploy the settlement contracts again (npm run aztec:deploy)',
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`aztec: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
