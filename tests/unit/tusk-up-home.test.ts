import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { portToUse } from '../../cli/service/infrastructure';
import { claimHome, runningInstance } from '../../cli/service/instance';
import { configuredSellers, perimeterEnvironment } from '../../cli/service/sellers';
import { down } from '../../cli/service/status';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tusk-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const KEY = 'A'.repeat(43);

async function sellerAt(dir: string, id: string, extra: object = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'seller.json'), JSON.stringify({ seller: id, publicKey: KEY }));
  await writeFile(
    join(dir, 'perimeter.json'),
    JSON.stringify({
      sellerFile: 'seller.json',
      policiesDir: 'policies',
      datasets: { orders: 'data.duckdb' },
      ...extra,
    }),
  );
}

describe("tusk up's sellers", () => {
  it('finds every perimeter.json that seller init left under the home, in order', async () => {
    await sellerAt(join(home, 'sellers', 'zeta'), 'zeta');
    await sellerAt(join(home, 'sellers', 'alpha'), 'alpha');
    await mkdir(join(home, 'sellers', 'half-made'));
    const sellers = await configuredSellers(home, []);
    expect(sellers.map((seller) => seller.sellerId)).toEqual(['alpha', 'zeta']);
  });

  it('takes the --seller paths given instead, a directory or its file', async () => {
    await sellerAt(join(home, 'sellers', 'alpha'), 'alpha');
    await sellerAt(join(home, 'elsewhere'), 'beta');
    const sellers = await configuredSellers(home, [join(home, 'elsewhere')]);
    expect(sellers).toEqual([
      { sellerId: 'beta', perimeterConfig: join(home, 'elsewhere', 'perimeter.json') },
    ]);
  });

  it('refuses a broken perimeter.json, a missing path and one seller named twice, with the reason', async () => {
    await mkdir(join(home, 'sellers', 'broken'), { recursive: true });
    await writeFile(join(home, 'sellers', 'broken', 'perimeter.json'), '{"datasets": 3}');
    await expect(configuredSellers(home, [])).rejects.toThrow(/perimeter configuration .* is not valid/);
    await expect(configuredSellers(home, [join(home, 'nowhere')])).rejects.toThrow(/no such file/);
    await sellerAt(join(home, 'a'), 'same');
    await sellerAt(join(home, 'b'), 'same');
    await expect(configuredSellers(home, [join(home, 'a'), join(home, 'b')])).rejects.toThrow(
      /seller same is named by two perimeter files/,
    );
  });

  it("sets the perimeter's variables from the file, over whatever the shell exports", async () => {
    await sellerAt(join(home, 'sellers', 'alpha'), 'alpha', { logUrl: 'http://10.0.0.1:8787' });
    const [seller] = await configuredSellers(home, []);
    const beside = perimeterEnvironment(seller!, false);
    expect(beside).toMatchObject({
      TUSK_SELLER_ID: 'alpha',
      TUSK_SELLER_PUBLIC_KEY: KEY,
      TUSK_DATASETS: `orders=${join(home, 'sellers', 'alpha', 'data.duckdb')}`,
    });
    // Beside the operator's own service, the log is that service's API, not the file's.
    expect(beside.TUSK_LOG_URL).toBeUndefined();
    expect(perimeterEnvironment(seller!, true).TUSK_LOG_URL).toBe('http://10.0.0.1:8787');
  });
});

describe('one tusk up per home', () => {
  it('claims the home once, takes over a stale lock, and lets go', async () => {
    const release = await claimHome(home);
    expect(await runningInstance(home)).toBe(process.pid);
    await expect(claimHome(home)).rejects.toThrow(/already running .*\(pid \d+\)/);
    release();
    expect(await runningInstance(home)).toBeUndefined();
    // A lock left by a process that is gone (pid far above any live one) does not hold the home.
    await writeFile(join(home, 'up.lock'), '4194303\n');
    const again = await claimHome(home);
    expect(await runningInstance(home)).toBe(process.pid);
    again();
  });
});

describe('tusk down', () => {
  it("signals the home's holder and returns once it has let go of the home", async () => {
    // A process holding the home as tusk up does, stopping a moment after SIGTERM.
    const holder = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', '-e'],
        `const { claimHome } = require(${JSON.stringify(join(__dirname, '../../cli/service/instance.ts'))});
         void claimHome(${JSON.stringify(home)}).then(() => {
           process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300));
           console.log('holding');
           setInterval(() => {}, 1000);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    expect(await runningInstance(home)).toBe(holder.pid);
    const said: string[] = [];
    await down(home, 10_000, (line) => said.push(line));
    expect(said).toEqual([`stopping tusk up (pid ${holder.pid}) for ${home}…`, 'stopped']);
    expect(holder.exitCode ?? holder.signalCode).toBe(0);
    expect(await runningInstance(home)).toBeUndefined();
    said.length = 0;
    await down(home, 10_000, (line) => said.push(line));
    expect(said[0]).toContain('nothing to stop');
  }, 20_000);
});

describe('ports across restarts', () => {
  const listening: Server[] = [];
  afterEach(() => listening.splice(0).forEach((server) => server.close()));
  const listen = () =>
    new Promise<number>((resolve) => {
      const server = createServer();
      listening.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });

  it('port 0 takes the port the last run used while it is free, else another', async () => {
    const busy = await listen();
    const free = await listen();
    listening.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await portToUse(0, free)).toBe(free);
    const other = await portToUse(0, busy);
    expect(other).not.toBe(busy);
    expect(other).toBeGreaterThan(0);
    expect(await portToUse(7233, busy)).toBe(7233);
  });
});
