import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { subjectOfKey, type AuditSubject } from '../../audit/subject';
import { TuskApiError, TuskClient } from '../../lib/tusk-client';
import { apiUrl, CliError, home, keyPaths, readText } from '../common';

/** Options every audit, receipt and log command takes. */
export interface AuditOptions {
  as?: string;
  api?: string;
  home?: string;
  operatorKey?: string;
  json?: boolean;
}

export function withCommonOptions(command: Command): Command {
  return command
    .option('--as <partyId>', 'the party making the requests (or TUSK_PARTY)')
    .option('--api <url>', 'the Tusk API (or TUSK_API_URL)')
    .option('--home <dir>', 'where keys live (or TUSK_HOME)')
    .option('--operator-key <key>', "the operator's pinned Ed25519 public key (or TUSK_OPERATOR_KEY)")
    .option('--json', 'print JSON');
}

/** Exit codes of the CLI contract: 1 refused/failed/finding, 2 usage, 3 cannot reach the service. */
export class Unreachable extends CliError {
  constructor(message: string) {
    super(message, 3);
  }
}

export async function clientOf(options: AuditOptions): Promise<TuskClient> {
  const partyId = options.as ?? process.env.TUSK_PARTY;
  if (!partyId) throw new CliError('missing --as <partyId> (or TUSK_PARTY)');
  const keyFile = keyPaths(home(options.home), partyId).signing;
  return new TuskClient(
    apiUrl(options.api, options.home),
    partyId,
    await readText(keyFile, `the signing key of ${partyId}`),
  );
}

/** An API call: an unreachable API exits 3, a refusal exits 1 with the API's reason. */
export async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TuskApiError)
      throw new CliError(`the API refused: ${error.code}: ${error.reason}`, 1);
    if (error instanceof Error && error.message.startsWith('cannot reach the Tusk API'))
      throw new Unreachable(error.message);
    throw error;
  }
}

/** The pinned operator key; without one, the API's own key, said out loud (trusting what you check). */
export async function operatorKeyOf(
  options: AuditOptions,
  client?: TuskClient,
): Promise<{ key: string; pinned: boolean }> {
  const pinned = options.operatorKey ?? process.env.TUSK_OPERATOR_KEY;
  if (pinned) return { key: pinned, pinned: true };
  if (!client)
    throw new CliError("give the operator's public key: --operator-key KEY (or TUSK_OPERATOR_KEY)");
  const { publicKey } = await call(() => client.get<{ publicKey: string }>('/operator/key'));
  return { key: publicKey, pinned: false };
}

export const isFile = (target: string) => existsSync(target);

/** A `.json` target that does not exist was meant as a file (no subject ends so): say so, not that --as is missing. */
export function refuseMissingFile(target: string): void {
  if (/\.json$/i.test(target) && !existsSync(target)) throw new CliError(`no such file: ${target}`, 2);
}

export function print(options: AuditOptions, json: unknown, text: string): void {
  console.log(options.json ? JSON.stringify(json, null, 2) : text);
}

/** What an audit command names: `<deal id>`, `grant:<id>`, `disclosure:<id>`, `subscription:<id>/period-<n>`. */
export function subjectArg(target: string): AuditSubject {
  const subject = subjectOfKey(target);
  if (!subject)
    throw new CliError(
      `${target} names nothing to audit: give a deal id, grant:<id>, disclosure:<id> or subscription:<id>/period-<n>`,
      2,
    );
  return subject;
}
