import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { SignedBundle } from '../../audit/bundle';
import {
  auditorKeysFromLog,
  pinnedKeys,
  pinnedKeysFile,
  type AuditorKeys,
} from '../../audit/verify/auditor-keys';
import type { TuskClient } from '../../lib/tusk-client';
import { CliError } from '../common';
import { call, Unreachable } from './context';
import { KeyLogUntrustedError } from '../../lib/key-log';

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path} is not ${what}: ${(error as Error).message}`);
  }
}

/** `--keys`: the keys the auditor pins for parties and perimeters (audit/verify/auditor-keys.ts). */
async function readKeysFile(path: string): Promise<AuditorKeys> {
  const parsed = pinnedKeysFile.safeParse(await readJson(path, 'JSON'));
  if (!parsed.success)
    throw new CliError(
      `${path} is not a keys file ({ "parties": { id: key }, "perimeters": { seller id: key } }): ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    );
  return pinnedKeys(parsed.data, `the keys you pinned (${path})`);
}

/** `--perimeter-keys` (kept from before `--keys`): `{ "<seller id>": "<perimeter key>" }`. */
async function readPerimeterKeys(path: string): Promise<Record<string, string>> {
  const parsed = z
    .record(z.string(), z.string().regex(/^[A-Za-z0-9_-]{43}$/))
    .safeParse(await readJson(path, 'a JSON object of seller ids to perimeter keys'));
  if (!parsed.success)
    throw new CliError(
      `${path} is not a JSON object of seller ids to perimeter keys: ${parsed.error.message}`,
    );
  return parsed.data;
}

/**
 * The keys `audit verify` checks signatures against: the auditor's pinned files first, then, for every
 * party the bundle involves that is not pinned, the transparency log, read as a registered party
 * (signed requests) and believed only under an operator key the auditor pinned. Never the bundle's.
 */
export async function keysForAudit(
  bundle: SignedBundle,
  flags: { keys?: string; perimeterKeys?: string },
  log: { client?: TuskClient; operatorKey: string; pinned: boolean },
): Promise<{ keys?: AuditorKeys; note?: string }> {
  let keys: AuditorKeys | undefined = flags.keys ? await readKeysFile(flags.keys) : undefined;
  if (flags.perimeterKeys) {
    const perimeters = await readPerimeterKeys(flags.perimeterKeys);
    keys = { parties: keys?.parties ?? {}, perimeters: { ...keys?.perimeters, ...perimeters } };
  }
  if (!log.client)
    return {
      ...(keys ? { keys } : {}),
      note: 'keys not pinned were not read from the log: give --as <party>',
    };
  if (!log.pinned)
    return {
      ...(keys ? { keys } : {}),
      note: 'keys were not read from the log: its answers are believed only under an operator key you pin',
    };
  const client = log.client;
  try {
    const read = (path: string) => call(() => client.get<unknown>(path));
    return { keys: await auditorKeysFromLog(read, log.operatorKey, bundle, keys) };
  } catch (error) {
    if (error instanceof KeyLogUntrustedError) throw new CliError(`FINDING: ${error.message}`, 1);
    if (!(error instanceof Unreachable)) throw error;
    return {
      ...(keys ? { keys } : {}),
      note: `keys not pinned were not read from the log: ${error.message}`,
    };
  }
}
