import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  checkConsistency,
  checkInclusion,
  checkTreeHead,
  logEntry,
  signedTreeHead,
  type ConsistencyProofResponse,
  type InclusionProofResponse,
  type LogEntry,
  type SignedTreeHead,
} from '../../lib/transparency/tree-head';
import { signedReceipt } from '../../audit/receipt';
import type { SignatureCheck } from '../../lib/transparency/signed-document';
import { canonicalHash } from '../../lib/canonical-json';
import { CliError } from '../common';
import { registerAnchorCommands } from './anchor-commands';
import {
  call,
  clientOf,
  operatorKeyOf,
  print,
  withCommonOptions,
  type AuditOptions,
  subjectArg,
} from './context';
import { subjectPath } from '../../audit/subject';

const describeHead = (head: SignedTreeHead) =>
  `tree size ${head.body.treeSize}, root ${head.body.rootHash}, signed ${new Date(head.body.timestamp).toISOString()}`;

async function head(options: AuditOptions & { save?: string }): Promise<void> {
  const client = await clientOf(options);
  const value = signedTreeHead.parse(await call(() => client.get<unknown>('/log/head')));
  const { key, pinned } = await operatorKeyOf(options, client);
  const check = checkTreeHead(value, key);
  if (!check.ok) throw new CliError(check.reason, 1);
  if (options.save) await writeFile(options.save, `${JSON.stringify(value, null, 2)}\n`);
  // Checked only against the key the API itself names, a head proves nothing about who signed it.
  const trust = pinned
    ? "signed by the operator's pinned key"
    : 'NOT checked against a pinned operator key (the API named the key itself): pin it with --operator-key or TUSK_OPERATOR_KEY';
  print(
    options,
    { ...value, signerPinned: pinned },
    `${describeHead(value)}\n${trust}${options.save ? `\nsaved to ${options.save}` : ''}`,
  );
}

async function prove(dealId: string, options: AuditOptions & { kind: LogEntry['kind'] }): Promise<void> {
  const client = await clientOf(options);
  const { key } = await operatorKeyOf(options, client);
  const kind = logEntry.shape.kind.parse(options.kind);
  const path = `/log/proof/inclusion?dealId=${encodeURIComponent(dealId)}&kind=${kind}`;
  const proof = await call(() => client.get<InclusionProofResponse>(path));
  // The entry is recomputed from the document itself, never taken from the proof.
  const document =
    kind === 'receipt'
      ? signedReceipt.parse(await call(() => client.get<unknown>(subjectPath(subjectArg(dealId), 'receipt'))))
      : await call(() => client.get<{ body: object }>(subjectPath(subjectArg(dealId), 'audit-bundle')));
  const entry: LogEntry = { type: 'tusk.log-entry/v1', kind, dealId, digest: canonicalHash(document.body) };
  const check = checkInclusion(entry, proof, key);
  print(
    options,
    { ...check, entry, proof },
    check.ok
      ? `the ${kind} of deal ${dealId} is leaf ${proof.leafIndex} of the log (${describeHead(proof.treeHead)})`
      : `NOT PROVEN: ${'reason' in check ? check.reason : ''}`,
  );
  if (!check.ok) process.exitCode = 1;
}

async function checkAgainst(oldHeadFile: string, options: AuditOptions): Promise<void> {
  let older: SignedTreeHead;
  try {
    older = signedTreeHead.parse(JSON.parse(await readFile(oldHeadFile, 'utf8')));
  } catch (error) {
    throw new CliError(
      `${oldHeadFile} is not a saved tree head (tusk log head --save FILE): ${(error as Error).message}`,
    );
  }
  const client = await clientOf(options);
  const { key } = await operatorKeyOf(options, client);
  const newer = signedTreeHead.parse(await call(() => client.get<unknown>('/log/head')));
  const heads = [checkTreeHead(older, key), checkTreeHead(newer, key)];
  let result: SignatureCheck = heads.find((h) => !h.ok) ?? { ok: true };
  if (result.ok) {
    const proof = await call(() =>
      client.get<ConsistencyProofResponse>(
        `/log/proof/consistency?first=${older.body.treeSize}&second=${newer.body.treeSize}`,
      ),
    ).catch((error: Error) => error);
    result =
      proof instanceof Error
        ? { ok: false, reason: proof.message }
        : checkConsistency(older.body, newer.body, proof);
  }
  print(
    options,
    { ...result, older: older.body, newer: newer.body },
    result.ok
      ? `consistent: the log of ${newer.body.treeSize} entries extends the head of ${older.body.treeSize} you hold`
      : `INCONSISTENT: ${'reason' in result ? result.reason : ''}`,
  );
  if (!result.ok) process.exitCode = 1;
}

export function registerLogCommands(program: Command): void {
  const log = program.command('log').description("the operator's transparency log (RFC 9162 Merkle log)");
  withCommonOptions(log.command('head').description('the latest signed tree head'))
    .option('--save <file>', 'keep it, to check later that the log only grew')
    .action(head);
  withCommonOptions(
    log.command('prove <dealId>').description("prove a deal's receipt or bundle is in the log"),
  )
    .option('--kind <kind>', 'receipt or audit-bundle', 'receipt')
    .action(prove);
  withCommonOptions(
    log
      .command('check-consistency <savedHeadFile>')
      .description('prove the log extends a head saved earlier'),
  ).action(checkAgainst);
  registerAnchorCommands(log);
}
