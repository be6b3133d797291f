import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { currentRegistration, type KeyRegistration } from '../lib/transparency/key-registration';
import { KeyLogUntrustedError, readKeyLog } from '../lib/key-log';
import { signedTreeHead, type SignedTreeHead } from '../lib/transparency/tree-head';
import { publicKeyOf } from '../lib/ed25519';
import { TuskApiError } from '../lib/tusk-client';
import { call, operatorKeyOf } from './audit/context';
import {
  CliError,
  EXIT,
  home,
  keyPaths,
  partyClient,
  readText,
  withPartyOptions,
  writeFileAtomic,
} from './common';

interface KeyCheckOptions {
  as?: string;
  api?: string;
  home?: string;
  operatorKey?: string;
  savedHead?: string;
  /** A seller's perimeter key file: check it against the log's perimeter registration instead. */
  perimeter?: string;
  json?: boolean;
}

/** Where a party keeps the newest log head it checked its key against. */
const savedHeadPath = (homeDir: string, partyId: string) => join(homeDir, 'log-heads', `${partyId}.json`);

async function readSavedHead(path: string): Promise<SignedTreeHead | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = signedTreeHead.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CliError(`${path} is not a saved tree head; move it away to start over`);
  return parsed.data;
}

interface KeyFinding {
  ok: boolean;
  partyId: string;
  localKey: string;
  loggedKey?: string;
  registrations: KeyRegistration[];
  treeSize?: number;
  problem?: string;
}

/**
 * Compares the party's own key with what the transparency log says it is: every registration of the
 * party comes with an inclusion proof to a head the operator signed, and that head must extend the
 * one saved at the last check (a forked or rewritten log is named). A registration of another key as
 * the party's newest is a swapped key: exit 1.
 */
async function keyCheck(options: KeyCheckOptions): Promise<void> {
  const client = await partyClient(options);
  const partyId = client.partyId;
  const homeDir = home(options.home);
  const purpose = options.perimeter ? 'perimeter' : 'party';
  const localKey = publicKeyOf(
    options.perimeter
      ? await readText(options.perimeter, `perimeter key of ${partyId}`)
      : await readText(keyPaths(homeDir, partyId).signing, `signing key of ${partyId}`),
  );
  const { key: operatorKey } = await operatorKeyOf({ ...options }, client);
  const headFile = options.savedHead ?? savedHeadPath(homeDir, partyId);
  const saved = await readSavedHead(headFile);
  // Signed as the party: the log answers registered parties only, with a key it logs as current.
  const checked = await call(() =>
    readKeyLog((path) => client.get<unknown>(path), {
      partyId,
      purpose,
      operatorPublicKey: operatorKey,
      ...(saved ? { saved } : {}),
    }).then(
      (read) => ({ ok: true as const, ...read }),
      (error: unknown) => {
        if (error instanceof KeyLogUntrustedError) return { ok: false as const, reason: error.message };
        if (error instanceof TuskApiError && error.status === 401)
          return { ok: false as const, reason: notCurrent(partyId, error.reason) };
        throw error;
      },
    ),
  );
  const finding: KeyFinding = checked.ok
    ? compare(partyId, localKey, checked.registrations, checked.head)
    : { ok: false, partyId, localKey, registrations: [], problem: checked.reason };
  if (checked.ok) await writeFileAtomic(headFile, `${JSON.stringify(checked.head, null, 2)}\n`);
  console.log(options.json ? JSON.stringify(finding, null, 2) : describe(finding));
  if (!finding.ok) process.exitCode = EXIT.refused;
}

/** The log refuses a key that is not the party's current one: yours was rotated, retired or swapped. */
const notCurrent = (partyId: string, reason: string) =>
  `KEY NOT CURRENT: the log refuses to answer a request signed with your key (${reason}): it is not ${partyId}'s current key (rotated away, retired, or swapped by the registry's keeper)`;

function compare(
  partyId: string,
  localKey: string,
  registrations: KeyRegistration[],
  head: SignedTreeHead,
): KeyFinding {
  const current = currentRegistration(registrations);
  const base = { partyId, localKey, registrations, treeSize: head.body.treeSize };
  if (!current) return { ...base, ok: false, problem: `the log registers no key for ${partyId}` };
  if (current.publicKey !== localKey)
    return {
      ...base,
      ok: false,
      loggedKey: current.publicKey,
      problem: `KEY SWAPPED: the log's newest registration of ${partyId} (number ${current.sequence}) is key ${current.publicKey}, not yours`,
    };
  return { ...base, ok: true, loggedKey: current.publicKey };
}

function describe(finding: KeyFinding): string {
  const history = finding.registrations
    .map(
      (r) => `  ${r.sequence}: ${r.role} ${r.publicKey}${r.publicKey === finding.localKey ? ' (yours)' : ''}`,
    )
    .join('\n');
  const verdict = finding.ok
    ? `ok: the log registers your key ${finding.localKey} for ${finding.partyId} (log size ${finding.treeSize})`
    : (finding.problem ?? 'not ok');
  return history ? `${verdict}\nregistrations:\n${history}` : verdict;
}

/** `tusk <role> key check`. */
export function addKeyCheckCommand(group: Command): void {
  const key = group.command('key').description('your key as the transparency log registers it');
  withPartyOptions(
    key
      .command('check')
      .description("compare your key with the log's registration of you (exit 1 when it differs)"),
  )
    .option('--operator-key <key>', "the operator's pinned Ed25519 public key (or TUSK_OPERATOR_KEY)")
    .option('--perimeter <pem>', "a seller's perimeter key file: check the log's perimeter key instead")
    .option(
      '--saved-head <file>',
      'the head saved at your last check (default $TUSK_HOME/log-heads/<id>.json)',
    )
    .option('--json', 'print JSON')
    .action(keyCheck);
}
