import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { logAnchor, logAnchorList, type LogAnchor } from '../../lib/transparency/anchor';
import { AztecNodeUnreachable } from '../../audit/verify/aztec-node';
import { checkLogAnchors, type OperatorLogView } from '../../audit/verify/chain-checks';
import { formatReport } from '../../audit/verify/report';
import {
  checkTreeHead,
  signedTreeHead,
  type ConsistencyProofResponse,
  type SignedTreeHead,
} from '../../lib/transparency/tree-head';
import type { TuskClient } from '../../lib/tusk-client';
import { CliError } from '../common';
import {
  call,
  clientOf,
  operatorKeyOf,
  print,
  Unreachable,
  withCommonOptions,
  type AuditOptions,
} from './context';

const anchorAnswer = z.object({ anchor: logAnchor, anchored: z.boolean() });

const describe = (a: LogAnchor) =>
  `size ${a.treeSize}, root ${a.rootHash}: id ${a.anchorId} in block ${a.blockNumber}, tx ${a.txHash}`;

/**
 * The operator's log as its API shows it, for checking against the chain: the anchors it lists, its
 * current head (signature checked against the pinned key) and consistency proofs on demand.
 */
export async function operatorLogView(client: TuskClient, operatorKey: string): Promise<OperatorLogView> {
  const { anchors } = logAnchorList.parse(await call(() => client.get<unknown>('/log/anchors')));
  const current = signedTreeHead.parse(await call(() => client.get<unknown>('/log/head')));
  const signature = checkTreeHead(current, operatorKey);
  if (!signature.ok) throw new CliError(`the operator's current head: ${signature.reason}`, 1);
  return {
    anchors,
    current: current.body,
    consistency: (first, second) =>
      call(() =>
        client.get<ConsistencyProofResponse>(`/log/proof/consistency?first=${first}&second=${second}`),
      ),
  };
}

/** Work against an Aztec node: a bad URL is a usage error (2), a node that does not answer exits 3. */
export async function onNode<T>(url: string, work: () => Promise<T>): Promise<T> {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new CliError(`--aztec-node must be an http(s) URL, got ${url}`);
  try {
    return await work();
  } catch (error) {
    if (error instanceof AztecNodeUnreachable) throw new Unreachable(error.message);
    throw error;
  }
}

async function anchor(options: AuditOptions): Promise<void> {
  const client = await clientOf(options);
  const answer = anchorAnswer.parse(await call(() => client.post<unknown>('/log/anchors')));
  print(options, answer, `${answer.anchored ? 'anchored' : 'already anchored'}: ${describe(answer.anchor)}`);
}

async function list(options: AuditOptions): Promise<void> {
  const client = await clientOf(options);
  const { anchors } = logAnchorList.parse(await call(() => client.get<unknown>('/log/anchors')));
  print(
    options,
    { anchors },
    anchors.length === 0 ? 'no head anchored yet' : anchors.map(describe).join('\n'),
  );
}

async function readHead(file: string): Promise<SignedTreeHead> {
  try {
    return signedTreeHead.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new CliError(
      `${file} is not a saved tree head (tusk log head --save FILE): ${(error as Error).message}`,
    );
  }
}

async function verifyAnchor(options: AuditOptions & { aztecNode: string; head?: string }): Promise<void> {
  const held = options.head ? await readHead(options.head) : undefined;
  const client = await clientOf(options);
  const { key } = await operatorKeyOf(options, client);
  if (held) {
    const signature = checkTreeHead(held, key);
    if (!signature.ok) throw new CliError(`${options.head}: ${signature.reason}`, 1);
  }
  const view = await operatorLogView(client, key);
  const checks = await onNode(options.aztecNode, () => checkLogAnchors(options.aztecNode, view, held?.body));
  const report = {
    dealId: '(the transparency log)',
    ok: checks.every((c) => c.status !== 'finding'),
    checks,
  };
  print(options, report, formatReport(report).replace('audit of deal ', 'audit of '));
  if (!report.ok) process.exitCode = 1;
}

export function registerAnchorCommands(log: Command): void {
  withCommonOptions(
    log.command('anchor').description("anchor the log's current head on Aztec now (operator)"),
  ).action(anchor);
  withCommonOptions(log.command('anchors').description("where the log's heads are anchored on Aztec")).action(
    list,
  );
  withCommonOptions(
    log
      .command('verify-anchor')
      .description(
        'check the anchored heads on an Aztec node, and that the log (and a head you hold) extends them',
      ),
  )
    .requiredOption('--aztec-node <url>', 'an Aztec node to read the anchors from')
    .option('--head <file>', 'a head you saved earlier (tusk log head --save FILE)')
    .action(verifyAnchor);
}
