import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AztecNode,
  AztecSdk,
  EmbeddedWallet,
  Interaction,
  SendOptions,
  TxReceipt,
} from '../../contracts/sdk';
import { proveWithoutSending } from '../../contracts/wallets';
import type { BlobStore } from '../../lib/blob-store';
import type { JournalEntry, SettlementAction, TxJournal } from './tx-journal';

const LANDED = new Set(['checkpointed', 'proven', 'finalized']);
/** A node may not know a just-sent tx for a moment; only after this is `dropped` believed. */
const DROPPED_GRACE_MS = 5_000;
const INCLUSION_TIMEOUT_MS = 180_000;

/** What became of a (deal, action)'s journaled transaction. */
export type Followed =
  | { kind: 'none' }
  | { kind: 'landed'; entry: JournalEntry }
  | { kind: 'reverted'; entry: JournalEntry; reason: string }
  /** Neither in a block nor in the pool, and its bytes were refused: it never landed and never will. */
  | { kind: 'lost'; entry: JournalEntry };

export class TxRevertedError extends Error {
  override name = 'TxRevertedError';
}

/**
 * Sends each settlement transaction retry-safely: prove, persist the bytes (blob store) and the hash
 * (journal), then broadcast and wait for inclusion. `follow` resumes an action a crashed or retried
 * attempt began: it waits for a pending tx, resends lost bytes, and says what happened.
 */
/** Reports one landed transaction (pino's argument order: fields, then message). */
export type LandedReport = (fields: Record<string, unknown>, message: string) => void;

export class SettlementTransactions {
  constructor(
    private readonly sdk: AztecSdk,
    private readonly node: AztecNode,
    private readonly wallet: EmbeddedWallet,
    private readonly journal: TxJournal,
    private readonly blobs: BlobStore,
    /** Where a landed transaction is reported: the worker's JSON log (one line per transaction). */
    private readonly report: LandedReport = () => {},
    private readonly pollMs = 500,
  ) {}

  async follow(dealId: string, action: SettlementAction): Promise<Followed> {
    const entry = await this.journal.get(dealId, action);
    if (!entry) return { kind: 'none' };
    let receipt = await this.receipt(entry);
    if (receipt.status === 'dropped') {
      // Unknown to the node: never sent, or dropped. The same bytes are safe to send again: if they
      // already landed the node refuses them, and only one proof of a spend can ever land.
      const tx = this.sdk.Tx.fromBuffer(await this.blobs.get(entry.txRef));
      try {
        await this.node.sendTx(tx);
      } catch {
        return { kind: 'lost', entry };
      }
    }
    receipt = await this.untilIncluded(entry);
    if (receipt.status === 'dropped') return { kind: 'lost', entry };
    if (receipt.executionResult !== 'success')
      return { kind: 'reverted', entry, reason: receipt.error ?? receipt.executionResult ?? 'unknown' };
    return { kind: 'landed', entry };
  }

  /** Proves, journals and sends a new transaction for the action; resolves once it is in a block. */
  async send(
    dealId: string,
    action: SettlementAction,
    interaction: Interaction,
    options: SendOptions & { request?: object },
    facts: Pick<JournalEntry, 'amount' | 'refusal' | 'receiptId'> = {},
  ): Promise<JournalEntry> {
    const started = performance.now();
    const tx = await proveWithoutSending(this.wallet, interaction, options);
    const proved = performance.now();
    const entry: JournalEntry = {
      dealId,
      action,
      txHash: tx.getTxHash().toString(),
      txRef: await this.blobs.put(tx.toBuffer()),
      ...facts,
      provenAt: new Date().toISOString(),
    };
    await this.journal.record(entry);
    await this.node.sendTx(tx);
    const receipt = await this.untilIncluded(entry);
    if (receipt.status === 'dropped')
      throw new Error(
        `${action} transaction of ${dealId} was dropped: ${receipt.error ?? 'no reason given'}`,
      );
    if (receipt.executionResult !== 'success')
      throw new TxRevertedError(
        `${action} transaction of ${dealId} reverted: ${receipt.error ?? receipt.executionResult}`,
      );
    const secondsSince = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
    this.report(
      {
        dealId,
        action,
        block: receipt.blockNumber,
        seconds: Number(secondsSince(started)),
        provingSeconds: Number(((proved - started) / 1000).toFixed(1)),
        tx: entry.txHash,
      },
      'settlement transaction landed',
    );
    return entry;
  }

  /** The block a landed transaction is in. */
  async blockOf(entry: JournalEntry): Promise<number> {
    return (await this.receipt(entry)).blockNumber ?? 0;
  }

  private receipt(entry: JournalEntry): Promise<TxReceipt> {
    return this.node.getTxReceipt(this.sdk.TxHash.fromString(entry.txHash));
  }

  private async untilIncluded(entry: JournalEntry): Promise<TxReceipt> {
    const started = Date.now();
    for (;;) {
      const receipt = await this.receipt(entry);
      if (LANDED.has(receipt.status)) return receipt;
      const waited = Date.now() - started;
      if (receipt.status === 'dropped' && waited > DROPPED_GRACE_MS) return receipt;
      if (waited > INCLUSION_TIMEOUT_MS)
        throw new Error(`${entry.action} transaction of ${entry.dealId} still ${receipt.status} after 180 s`);
      await sleep(this.pollMs);
    }
  }
}
