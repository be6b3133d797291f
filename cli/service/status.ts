import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, EXIT, jsonText } from '../common';
import { formatTable } from '../../lib/format-table';
import { readUpFile, runningInstance, type UpFile } from './instance';

const DOWN_POLL_MS = 250;

/** `tusk status`: whether `tusk up` runs for this home, its addresses and its processes. */
export async function status(home: string, json: boolean): Promise<number> {
  const pid = await runningInstance(home);
  const file = await readUpFile(home);
  if (json) {
    console.log(jsonText({ running: pid !== undefined, pid: pid ?? null, ...upView(file) }));
    return pid === undefined ? EXIT.unreachable : EXIT.ok;
  }
  if (pid === undefined) {
    console.log(`tusk up is not running for ${home}${file ? ' (up.json is from its last run)' : ''}`);
    return EXIT.unreachable;
  }
  console.log(`tusk up is running for ${home} (pid ${pid})`);
  for (const [name, address] of Object.entries(file?.addresses ?? {}))
    console.log(`  ${name.padEnd(9)}${address}`);
  if (file)
    console.log(
      `\n${formatTable(
        ['process', 'state', 'pid', 'restarts', 'serves'],
        file.processes.map((p) => [p.name, p.state, p.pid, p.restarts, p.shows]),
      )}`,
    );
  return EXIT.ok;
}

const upView = (file: UpFile | undefined) => ({
  addresses: file?.addresses ?? {},
  processes: file?.processes ?? [],
});

/**
 * `tusk down`: asks the home's `tusk up` to stop (SIGTERM, as Ctrl-C does) and waits until it has
 * stopped every process and let go of the home.
 */
export async function down(home: string, timeoutMs: number, say: (line: string) => void): Promise<void> {
  const pid = await runningInstance(home);
  if (pid === undefined) {
    say(`tusk up is not running for ${home}: nothing to stop`);
    return;
  }
  say(`stopping tusk up (pid ${pid}) for ${home}…`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  let lastSaid = Date.now();
  while ((await runningInstance(home)) !== undefined) {
    if (Date.now() > deadline)
      throw new CliError(
        `tusk up (pid ${pid}) did not stop within ${timeoutMs / 1000} s; see ${home}/logs`,
        EXIT.refused,
      );
    if (Date.now() - lastSaid > 5_000) {
      const file = await readUpFile(home);
      const left = (file?.processes ?? []).filter((p) => p.state !== 'stopped').map((p) => p.name);
      say(`still stopping: ${left.join(', ') || 'tusk up itself'}`);
      lastSaid = Date.now();
    }
    await sleep(DOWN_POLL_MS);
  }
  say('stopped');
}
