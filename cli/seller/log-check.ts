import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  checkKeptReleases,
  keptSizesBelow,
  parseKeptReleases,
  RELEASE_PROOFS_FILE,
  type KeptReleaseCheck,
  type KeptReleaseProof,
  type LogNow,
} from '../../lib/transparency/kept-release';
import { releaseLookup, type ReleaseLookup } from '../../lib/transparency/release-entry';
import {
  checkTreeHead,
  signedTreeHead,
  type ConsistencyProofResponse,
  type SignedTreeHead,
} from '../../lib/transparency/tree-head';
import { TuskApiError, type TuskClient } from '../../lib/tusk-client';
import { operatorKeyOf } from '../audit/context';
import { CliError, EXIT, partyClient, print, withPartyOptions, type PartyOptions } from '../common';
import { perimeterStateDir } from '../template/sealed-drafts';

interface LogCheckOptions extends PartyOptions {
  operatorKey?: string;
  proofs?: string;
  perimeterState?: string;
  json?: boolean;
}

/** --proofs, else the kept-proofs file in the seller's perimeter state directory. */
function proofsFile(options: LogCheckOptions, sellerId: string): string {
  if (options.proofs) return resolve(options.proofs);
  return join(perimeterStateDir(options, sellerId), RELEASE_PROOFS_FILE);
}

async function readKept(path: string): Promise<KeptReleaseProof[]> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(
      `no kept release proofs at ${path}: has this perimeter released an answer yet? (--proofs <file> or --perimeter-state <dir>)`,
    );
  });
  const { kept, problems } = parseKeptReleases(text);
  if (problems.length > 0) throw new CliError(`${path}: ${problems.join('; ')}`, EXIT.refused);
  return kept;
}

/** An answer the log refused to give is kept as the reason, to be named for the entries that needed it. */
async function orRefusal<T>(work: () => Promise<T>): Promise<T | Error> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TuskApiError) return new Error(`the log answered ${error.status}: ${error.reason}`);
    throw error;
  }
}

/** The log's head now, a consistency proof from each kept size, and its answer for each kept key. */
async function readLogNow(
  client: TuskClient,
  kept: readonly KeptReleaseProof[],
  operatorKey: string,
): Promise<LogNow> {
  const head = signedTreeHead.parse(await client.get<unknown>('/log/head'));
  const signed = checkTreeHead(head, operatorKey);
  if (!signed.ok) throw new CliError(`the log's head is not the pinned operator's: ${signed.reason}`, 1);
  const size = head.body.treeSize;
  const consistency = new Map<number, ConsistencyProofResponse | Error>();
  for (const first of keptSizesBelow(kept, size))
    consistency.set(
      first,
      await orRefusal(() =>
        client.get<ConsistencyProofResponse>(`/log/proof/consistency?first=${first}&second=${size}`),
      ),
    );
  const lookups = new Map<string, ReleaseLookup | Error>();
  for (const lookupKey of new Set(kept.map((record) => record.lookupKey)))
    lookups.set(
      lookupKey,
      await orRefusal(async () =>
        releaseLookup.parse(await client.get<unknown>(`/log/releases/${lookupKey}?since=${size}`)),
      ),
    );
  return { head, consistency, lookups };
}

const describeHead = (head: SignedTreeHead) =>
  `size ${head.body.treeSize}, root ${head.body.rootHash}, signed ${new Date(head.body.timestamp).toISOString()}, signature ${head.signature.value}`;

function describe(results: KeptReleaseCheck[], head: SignedTreeHead, note: string): string {
  const lines = results.map((r) =>
    r.status === 'still'
      ? `ok      deal ${r.dealId}: leaf ${r.leafIndex} still in the log`
      : `${r.status === 'lost' ? 'LOST   ' : 'UNPROVEN'} deal ${r.dealId}: leaf ${r.leafIndex} (lookup key ${r.lookupKey}, statement ${r.digest}): ${r.problem}` +
        (r.status === 'lost'
          ? `\n        evidence: the operator's head you kept, ${describeHead(r.keptHead)}`
          : ''),
  );
  const lost = results.filter((r) => r.status === 'lost').length;
  const unproven = results.filter((r) => r.status === 'unproven').length;
  lines.push(
    `${results.length} kept release${results.length === 1 ? '' : 's'} against the log of ${head.body.treeSize} entries: ` +
      (lost + unproven === 0 ? 'all still logged' : `${lost} lost, ${unproven} unproven`),
  );
  return lines.join('\n') + note;
}

/**
 * `tusk seller log check`: the seller's own check that the operator's log still holds every release its
 * perimeter logged. Settlement reads the log before refunding a deal past `notAfter`; a log rewritten
 * or forked behind the perimeter's back would let the operator give a delivered answer back for free.
 * Exit 1 names each entry the log lost, with the operator's signed head the perimeter kept as evidence.
 */
async function logCheck(options: LogCheckOptions): Promise<void> {
  const client = await partyClient(options);
  const kept = await readKept(proofsFile(options, client.partyId));
  const { key, pinned } = await operatorKeyOf(options, client);
  const now = await readLogNow(client, kept, key);
  const results = checkKeptReleases(kept, now, key);
  const note = pinned
    ? ''
    : `\nnote: the operator key was taken from the API (${key}); pin it with --operator-key`;
  print(
    options.json,
    { treeSize: now.head.body.treeSize, operatorKeyPinned: pinned, releases: results },
    () => describe(results, now.head, note),
  );
  if (results.some((r) => r.status !== 'still')) process.exitCode = EXIT.refused;
}

/** `tusk seller log check`. */
export function addLogCheckCommand(seller: Command): void {
  const log = seller
    .command('log')
    .description("your perimeter's releases in the operator's transparency log");
  withPartyOptions(
    log
      .command('check')
      .description(
        'check the log still holds every release your perimeter logged (exit 1 naming one it lost, with the kept signed head)',
      ),
  )
    .option('--operator-key <key>', "the operator's pinned Ed25519 public key (or TUSK_OPERATOR_KEY)")
    .option(
      '--proofs <file>',
      `the perimeter's kept proofs (default: <perimeter state>/${RELEASE_PROOFS_FILE})`,
    )
    .option(
      '--perimeter-state <dir>',
      "your perimeter's state directory (default: $TUSK_PERIMETER_STATE_DIR, else $TUSK_HOME/perimeter/<seller>)",
    )
    .option('--json', 'print JSON')
    .action(logCheck);
}
