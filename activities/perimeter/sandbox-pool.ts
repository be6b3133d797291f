import type { DuckDBInstance } from '@duckdb/node-api';
import { openSandbox, type SandboxLimits } from './sandbox';

/** One read-only sandbox per dataset file, opened on first use and kept for the worker's life. */
export class SandboxPool {
  private readonly open = new Map<string, Promise<DuckDBInstance>>();

  constructor(
    private readonly datasets: Record<string, string>,
    private readonly limits: SandboxLimits,
  ) {}

  has(dataset: string): boolean {
    return this.datasets[dataset] !== undefined;
  }

  get(dataset: string): Promise<DuckDBInstance> {
    const path = this.datasets[dataset];
    if (path === undefined) throw new Error(`no dataset ${dataset}`);
    let sandbox = this.open.get(path);
    if (!sandbox) {
      sandbox = openSandbox(path, this.limits);
      this.open.set(path, sandbox);
      sandbox.catch(() => this.open.delete(path));
    }
    return sandbox;
  }

  /** Runs work on a fresh connection to the dataset's sandbox, closing it afterwards. */
  async withConnection<T>(
    dataset: string,
    work: (connection: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>,
  ) {
    const connection = await (await this.get(dataset)).connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  }
}
