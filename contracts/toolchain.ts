import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where `npm run aztec:setup` installs the Aztec toolchain: outside the repo, shared by every checkout.
 * Only the settlement worker, the Aztec CLI commands and the local network use it; the rest of Tusk
 * runs on the project's own Node and never loads an @aztec package.
 */
export function aztecToolchainHome(): string {
  const explicit = process.env.TUSK_AZTEC_HOME;
  if (explicit) return explicit;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tusk', 'aztec');
}

export const aztecToolchain = (home = aztecToolchainHome()) => ({
  home,
  /** The patched Node 22 that the @aztec packages need. */
  node: join(home, 'bin', 'node'),
  /** package.json of the folder whose node_modules hold the pinned @aztec set. */
  packages: join(home, 'aztec', 'package.json'),
  installed: existsSync(join(home, 'installed')),
});

export class AztecToolchainMissingError extends Error {
  override name = 'AztecToolchainMissingError';
  constructor(home: string) {
    super(`the Aztec toolchain is not installed in ${home}: run npm run aztec:setup`);
  }
}
