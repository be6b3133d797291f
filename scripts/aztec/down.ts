import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { NETWORK_STATE, type NetworkState } from './network-state';

const say = (line: string) => console.log(`aztec: ${line}`);

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** npm run aztec:down: stops the process group npm run aztec:up started (anvil, node, provers). */
async function main(): Promise<void> {
  let state: NetworkState;
  try {
    state = JSON.parse(await readFile(NETWORK_STATE, 'utf8')) as NetworkState;
  } catch {
    say('no network started by npm run aztec:up here; nothing to stop');
    return;
  }
  // The record may outlive a reboot: only signal the group if its leader is still our launcher.
  const command = await readFile(`/proc/${state.pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.includes('local-network.sh') || !groupAlive(state.pid)) {
    await rm(NETWORK_STATE, { force: true });
    say(`the network on ${state.url} is not running any more; nothing to stop`);
    return;
  }
  process.kill(-state.pid, 'SIGTERM');
  for (let waited = 0; groupAlive(state.pid) && waited < 10_000; waited += 200) await sleep(200);
  if (groupAlive(state.pid)) process.kill(-state.pid, 'SIGKILL');
  await rm(NETWORK_STATE, { force: true });
  say(`stopped the network on ${state.url} (process group ${state.pid})`);
}

main().catch((error: unknown) => {
  console.error(`aztec: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
