import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { settlementDeployment, type SettlementDeployment } from '../../contracts/deployment';

const ROOT = resolve(__dirname, '../..');

export interface Balances {
  accounts: Record<string, bigint>;
  escrows: Record<string, bigint>;
}

/**
 * Drives `npm run aztec` (contracts/cli.ts, on the toolchain's Node 22) from the project's own Node:
 * the operator's one-time deployment, and the buyer's and seller's wallets in the demo and the tests.
 * Each call opens fresh in-memory wallets, so it sees the chain as it is, not a cached view.
 */
export class AztecCli {
  constructor(
    /** Tusk home whose aztec/ folder holds the deployment file and escrow master secret. */
    readonly home: string,
    readonly nodeUrl: string,
  ) {}

  /**
   * A read that only looks (balances) is run again when it lost the prover's start-up race (`bb`
   * creates its socket file before it listens; see contracts/wallets.ts): on a busy machine a wallet
   * opened for the read can be refused once. Anything that sends is never retried here.
   */
  async read(args: string[], attempts = 3): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(args);
      } catch (error) {
        const proverRace = /bb socket|bb to create socket/.test((error as Error).message);
        if (!proverRace || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  }

  run(args: string[]): Promise<string> {
    const child = spawn(join(ROOT, 'scripts/aztec/node22'), [join(ROOT, 'contracts/cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, TUSK_HOME: this.home, TUSK_AZTEC_NODE_URL: this.nodeUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((done, fail) => {
      child.once('error', fail);
      child.once('close', (code) => {
        if (code === 0) done(stdout);
        else
          fail(
            new Error(
              `npm run aztec -- ${args[0]} failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join('\n')}`,
            ),
          );
      });
    });
  }

  async deploy(): Promise<SettlementDeployment> {
    return settlementDeployment.parse(JSON.parse(await this.run(['deploy'])));
  }

  async fund(account: number, amount: bigint): Promise<void> {
    await this.run(['fund', String(account), amount.toString()]);
  }

  /** The buyer's payment: a private transfer from its own wallet into the deal's escrow. */
  async pay(
    account: number,
    escrowAddress: string,
    amount: string,
  ): Promise<{ txHash: string; seconds: number }> {
    const output = await this.run(['pay', String(account), escrowAddress, amount]);
    return JSON.parse(output) as { txHash: string; seconds: number };
  }

  /**
   * Private balances as each account's own wallet sees them, and deals' escrow balances as the operator
   * sees them. `senders`: escrow addresses whose payouts the wallets should find.
   */
  async balances(query: { accounts: number[]; escrows?: string[]; senders?: string[] }): Promise<Balances> {
    const args = ['balances', ...query.accounts.map(String)];
    for (const dealId of query.escrows ?? []) args.push('--escrow', dealId);
    for (const sender of query.senders ?? []) args.push('--sender', sender);
    const raw = JSON.parse(await this.read(args)) as {
      accounts: Record<string, string>;
      escrows: Record<string, string>;
    };
    const toBigInt = (values: Record<string, string>) =>
      Object.fromEntries(Object.entries(values).map(([key, value]) => [key, BigInt(value)]));
    return { accounts: toBigInt(raw.accounts), escrows: toBigInt(raw.escrows) };
  }

  async receipts(account: number, senders: string[] = []): Promise<string[]> {
    const args = ['receipts', String(account), ...senders.flatMap((sender) => ['--sender', sender])];
    return (JSON.parse(await this.read(args)) as { receipts: string[] }).receipts;
  }
}
