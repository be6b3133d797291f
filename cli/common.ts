import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TuskApiError, TuskClient, TuskUnreachableError } from '../lib/tusk-client';

/** A mistake the user can fix: printed as one line, with an exit code, never a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Exit codes every command keeps (the CLI contract). */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export const home = (flag?: string) => resolve(flag ?? process.env.TUSK_HOME ?? '.tusk');
/** The API: --api, else TUSK_API_URL, else the one `tusk up` runs for this home (its up.json). */
export const apiUrl = (flag?: string, homeDir?: string) =>
  flag || process.env.TUSK_API_URL || runningApi(home(homeDir)) || 'http://127.0.0.1:8787';

function runningApi(homeDir: string): string | undefined {
  try {
    const file = JSON.parse(readFileSync(join(homeDir, 'up.json'), 'utf8')) as {
      addresses?: { api?: string };
    };
    return file.addresses?.api;
  } catch {
    return undefined;
  }
}

export const keyPaths = (homeDir: string, partyId: string) => ({
  signing: join(homeDir, 'keys', `${partyId}.ed25519.pem`),
  result: join(homeDir, 'keys', `${partyId}.x25519.pem`),
});

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new CliError(`${what} not found at ${path}`);
  }
}

export { writeFileAtomic } from '../lib/atomic-file';

export function required(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what}`);
  return value;
}

/** The options every command that talks to the API as a party takes. */
export interface PartyOptions {
  as?: string;
  api?: string;
  home?: string;
}

/** Adds --as, --api and --home to a command that talks to the API as a party. */
export function withPartyOptions(command: Command): Command {
  return command
    .option('--as <partyId>', 'your party id (default: $TUSK_PARTY)')
    .option(
      '--api <url>',
      'the Tusk API (default: $TUSK_API_URL, else the one tusk up runs for --home, else http://127.0.0.1:8787)',
    )
    .option('--home <dir>', 'where keys live (default: $TUSK_HOME or .tusk)');
}

/** Adds --home alone, for commands that only touch local files. */
export function withHomeOption(command: Command): Command {
  return command.option('--home <dir>', 'where keys live (default: $TUSK_HOME or .tusk)');
}

/** The party's signed client, from its key in $TUSK_HOME/keys. */
export async function partyClient(options: PartyOptions): Promise<TuskClient> {
  const partyId = required(options.as ?? process.env.TUSK_PARTY, '--as <partyId> (or TUSK_PARTY)');
  const path = keyPaths(home(options.home), partyId).signing;
  return new TuskClient(
    apiUrl(options.api, options.home),
    partyId,
    await readText(path, `signing key of ${partyId} (make it: tusk <role> keygen ${partyId})`),
  );
}

/** An unsigned GET of a public route (/public/...): no party, no key. */
export async function publicGet<T>(options: Pick<PartyOptions, 'api' | 'home'>, path: string): Promise<T> {
  const base = apiUrl(options.api, options.home);
  const response = await fetch(new URL(path, base)).catch(() => {
    throw new TuskUnreachableError(
      `cannot reach the Tusk API at ${base}; is it running? (--api or TUSK_API_URL)`,
    );
  });
  const body = (await response.json().catch(() => ({}))) as T & { code?: string; reason?: string };
  if (!response.ok)
    throw new TuskApiError(response.status, body.code ?? 'unknown', body.reason ?? response.statusText);
  return body;
}

/** A field holding a time: `at`, `deadline`, `…At`, `…Until`. */
const TIME_FIELD = /^(at|deadline|[a-z][A-Za-z]*At|[a-z][A-Za-z]*Until)$/;
/** Epoch milliseconds from September 2001 on: smaller numbers in a time field are durations or 0. */
const EPOCH_MS_FROM = 1e12;

/**
 * The CLI's JSON: times as ISO 8601 (the API and workflows keep epoch milliseconds), big integers
 * as decimal strings, indented.
 */
export function jsonText(data: unknown): string {
  return JSON.stringify(
    data,
    (key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number' && value >= EPOCH_MS_FROM && TIME_FIELD.test(key))
        return new Date(value).toISOString();
      return value;
    },
    2,
  );
}

/** Prints data as JSON for scripts, or as text for people. */
export function print(json: boolean | undefined, data: unknown, text: () => string): void {
  console.log(json ? jsonText(data) : text());
}
