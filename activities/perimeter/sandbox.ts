import { DuckDBInstance } from '@duckdb/node-api';

export interface SandboxLimits {
  memoryLimit: string;
  threads: number;
}

/**
 * The seller's dataset, opened the only way the perimeter opens it: read-only, no files, network or
 * extensions beyond the dataset itself, and configuration locked so a query cannot undo any of it.
 */
export function openSandbox(path: string, limits: SandboxLimits): Promise<DuckDBInstance> {
  return DuckDBInstance.create(path, {
    access_mode: 'READ_ONLY',
    enable_external_access: 'false',
    autoload_known_extensions: 'false',
    autoinstall_known_extensions: 'false',
    memory_limit: limits.memoryLimit,
    threads: String(limits.threads),
    lock_configuration: 'true',
  });
}
