import { anchorId } from '../../lib/ids/anchor-id';
import type { LogAnchor } from '../../lib/transparency/anchor';
import type { SignedBundle } from '../bundle';
import { readHistory, type HistoryJson } from '../history-json';
import { moneyFactsOf } from '../settlement-facts';
import {
  checkConsistency,
  type ConsistencyProofResponse,
  type TreeHeadBody,
} from '../../lib/transparency/tree-head';
import { publicNftStates, txProblem, txReceipt } from './aztec-node';
import { finding, fromProblems, ok, skipped, type CheckResult } from './report';

const ZERO = `0x${'0'.repeat(64)}`;

/** What the operator says about its log, to be checked against the chain (never trusted itself). */
export interface OperatorLogView {
  /** The anchors the operator lists (GET /log/anchors). */
  anchors: LogAnchor[];
  /** The operator's current head, its signature already checked. */
  current: TreeHeadBody;
  consistency(first: number, second: number): Promise<ConsistencyProofResponse>;
}

const block = (anchor: LogAnchor) =>
  `size ${anchor.treeSize} (block ${anchor.blockNumber}, tx ${anchor.txHash})`;

/** Each anchor the operator lists is on chain: its id derives from its head, its mint landed and is public. */
async function anchorsOnChain(nodeUrl: string, anchors: LogAnchor[]) {
  const problems: string[] = [];
  const confirmed: LogAnchor[] = [];
  const notes: string[] = [];
  const byContract = new Map<string, LogAnchor[]>();
  for (const anchor of anchors)
    byContract.set(anchor.contract, [...(byContract.get(anchor.contract) ?? []), anchor]);
  for (const [contract, listed] of byContract) {
    const states = await publicNftStates(
      nodeUrl,
      contract,
      listed.map((a) => a.anchorId),
    );
    if ('unavailable' in states)
      notes.push(`public state not read (${states.unavailable}): only the transactions were checked`);
    for (const anchor of listed) {
      const before = problems.length;
      if (anchorId(anchor.treeSize, anchor.rootHash) !== anchor.anchorId)
        problems.push(`the anchor of ${block(anchor)} names id ${anchor.anchorId}, not its head's`);
      const tx = txProblem(
        `the anchor of size ${anchor.treeSize}`,
        anchor.txHash,
        await txReceipt(nodeUrl, anchor.txHash),
      );
      if (tx) problems.push(tx);
      const state = 'unavailable' in states ? undefined : states.states[anchor.anchorId];
      if (state && (!state.exists || state.publicOwner === ZERO))
        problems.push(`no public anchor ${anchor.anchorId} of ${block(anchor)} exists in ${contract}`);
      if (problems.length === before) confirmed.push(anchor);
    }
  }
  return { problems, confirmed, notes };
}

/**
 * The log's anchored heads against the chain and against the operator's current log: every anchored
 * head must be a prefix of today's log (an RFC 9162 consistency proof), so an operator who rewrote or
 * dropped history after anchoring is caught. The head the auditor holds is checked the same way.
 */
export async function checkLogAnchors(
  nodeUrl: string,
  view: OperatorLogView,
  held?: TreeHeadBody,
): Promise<CheckResult[]> {
  if (view.anchors.length === 0)
    return [
      skipped(
        'log anchored on Aztec',
        'the operator lists no anchored head: nothing ties its log to the chain',
      ),
    ];
  const onChain = await anchorsOnChain(nodeUrl, view.anchors);
  const results = fromProblems(
    'log anchored on Aztec',
    onChain.problems,
    `${onChain.confirmed.length} anchored head${onChain.confirmed.length === 1 ? '' : 's'} found on chain${onChain.notes.length ? `; ${onChain.notes.join('; ')}` : ''}`,
  );
  const rewritten: string[] = [];
  const heads: { what: string; head: TreeHeadBody }[] = onChain.confirmed.map((a) => ({
    what: `the head of ${block(a)} anchored on chain`,
    head: { type: 'tusk.tree-head/v1', treeSize: a.treeSize, rootHash: a.rootHash, timestamp: a.anchoredAt },
  }));
  if (held) heads.push({ what: `the head of size ${held.treeSize} you hold`, head: held });
  for (const { what, head } of heads) {
    if (head.treeSize > view.current.treeSize) {
      rewritten.push(
        `${what} is longer than the log now (${view.current.treeSize} entries): history was dropped`,
      );
      continue;
    }
    const proof = await view.consistency(head.treeSize, view.current.treeSize).catch((error: Error) => error);
    if (proof instanceof Error)
      rewritten.push(
        `the operator gave no consistency proof from ${what} to the log of ${view.current.treeSize} entries: ${proof.message}`,
      );
    else if (!checkConsistency(head, view.current, proof).ok)
      rewritten.push(
        `the log of ${view.current.treeSize} entries does not extend ${what}: history was rewritten`,
      );
  }
  results.push(
    ...fromProblems(
      'log consistent with its anchored heads',
      rewritten,
      `checked ${heads.length} head${heads.length === 1 ? '' : 's'} against the log of ${view.current.treeSize} entries`,
    ),
  );
  if (held) {
    const covering = onChain.confirmed.find((a) => a.treeSize >= held.treeSize);
    results.push(
      covering
        ? ok('your head covered by an anchor', `anchored within the head of ${block(covering)}`)
        : skipped(
            'your head covered by an anchor',
            `no anchor reaches size ${held.treeSize} yet: it is covered once the operator anchors a later head`,
          ),
    );
  }
  return results;
}

/**
 * The deal's settlement transactions, as its histories name them, landed and succeeded on the node;
 * and its receipt's public id was minted in the receipt contract. Nothing else about the receipt is
 * public: who holds it, and the payments' amounts and parties, are private notes.
 */
export async function checkSettlementOnChain(
  bundle: SignedBundle,
  nodeUrl: string,
  receiptContract?: string,
): Promise<CheckResult[]> {
  const calls = bundle.body.runs.flatMap((run) => readHistory(run.history as HistoryJson).activities);
  const facts = moneyFactsOf(calls);
  const named = facts.transactions.filter((t) => t.txHash !== undefined);
  const problems: string[] = [];
  for (const tx of named) {
    const problem = txProblem(tx.action, tx.txHash!, await txReceipt(nodeUrl, tx.txHash!));
    if (problem) problems.push(problem);
  }
  const results = fromProblems(
    'settlement transactions on Aztec',
    problems,
    `${named.length} transaction${named.length === 1 ? '' : 's'} landed and succeeded`,
  );
  const id = bundle.body.receipt?.body.chainReceiptId;
  if (!id)
    results.push(
      skipped(
        'receipt minted on Aztec',
        bundle.body.receipt ? 'the receipt names no chain receipt' : 'this bundle has no receipt',
      ),
    );
  else if (!receiptContract)
    results.push(
      skipped('receipt minted on Aztec', 'the receipt contract is not known: give --receipt-contract'),
    );
  else {
    const states = await publicNftStates(nodeUrl, receiptContract, [id]);
    if ('unavailable' in states) results.push(skipped('receipt minted on Aztec', states.unavailable));
    else if (!states.states[id]?.exists)
      results.push(
        finding('receipt minted on Aztec', `no receipt ${id} was ever minted in ${receiptContract}`),
      );
    else
      results.push(
        ok('receipt minted on Aztec', `${id} exists in ${receiptContract}; its holder is private`),
      );
  }
  return results;
}
