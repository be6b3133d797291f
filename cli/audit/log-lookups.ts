import { readFile } from 'node:fs/promises';
import type { SignedBundle } from '../../audit/bundle';
import { readLogLookups, type LogLookups } from '../../audit/verify/log-lookups';
import { checkTreeHead, signedTreeHead, type SignedTreeHead } from '../../lib/transparency/tree-head';
import type { TuskClient } from '../../lib/tusk-client';
import { CliError } from '../common';
import { call } from './context';

/** `--head`: a head the auditor saved (`tusk log head --save`), signed by the operator key it pins. */
async function savedHead(path: string, operatorKey: string): Promise<SignedTreeHead> {
  let head: SignedTreeHead;
  try {
    head = signedTreeHead.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch (error) {
    throw new CliError(
      `${path} is not a saved tree head (tusk log head --save FILE): ${(error as Error).message}`,
    );
  }
  const signed = checkTreeHead(head, operatorKey);
  if (!signed.ok) throw new CliError(`${path}: ${signed.reason}`, 1);
  return head;
}

/** The head the log's answers must extend: the auditor's saved one, else the one the bundle was logged under. */
async function floorOf(bundle: SignedBundle, headFile: string | undefined, operatorKey: string) {
  if (headFile)
    return { head: await savedHead(headFile, operatorKey), what: `the head you saved (${headFile})` };
  const head = bundle.body.receiptInclusion?.treeHead;
  if (!head || !checkTreeHead(head, operatorKey).ok) return undefined;
  return { head, what: `the head of size ${head.body.treeSize} the bundle's receipt is proven under` };
}

/**
 * The log's release and extension entries for the bundle's subject, read as a registered party (the
 * same signed requests and pinned operator key as the keys `audit verify` reads from the log). Without
 * both, the checks say they were not run; an answer that does not verify is a finding, not a note.
 */
export async function lookupsForAudit(
  bundle: SignedBundle,
  flags: { head?: string },
  log: { client?: TuskClient; operatorKey: string; pinned: boolean },
): Promise<{ lookups?: LogLookups; note?: string }> {
  if (!log.client)
    return { note: "the log's release and extension entries were not read: give --as <party>" };
  if (!log.pinned)
    return {
      note: "the log's release and extension entries were not read: its answers are believed only under an operator key you pin",
    };
  const client = log.client;
  const floor = await floorOf(bundle, flags.head, log.operatorKey);
  try {
    const read = (path: string) => call(() => client.get<unknown>(path));
    return { lookups: await readLogLookups(read, log.operatorKey, bundle, floor) };
  } catch (error) {
    // The API refused the reader or cannot be reached: said in the report, the checks marked not run.
    if (!(error instanceof CliError)) throw error;
    return { note: `the log's release and extension entries were not read: ${error.message}` };
  }
}
