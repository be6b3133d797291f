import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The settlement actions that send a transaction, one per escrow at most (once it lands): a grant's
 * tranches are `part:<milestone>`, late payments sent back `late:<n>`.
 */
export type SettlementAction =
  | 'open'
  | 'return'
  | 'release'
  | 'refund'
  | 'receipt'
  | 'split'
  | 'remainder'
  | 'anchor'
  | `part:${string}`
  | `late:${number}`;

const ACTION =
  /^(open|return|release|refund|receipt|split|remainder|anchor|part:[A-Za-z0-9._~%:-]{1,200}|late:[0-9]{1,6})$/;

// Fixed actions keep their readable file names; parts and late returns are named by a hash.
const ACTION_FILES: Record<string, string> = {
  open: 'open',
  return: 'return',
  release: 'release',
  refund: 'refund',
  receipt: 'receipt',
  split: 'split',
  remainder: 'remainder',
  anchor: 'anchor',
};

const entry = z.object({
  dealId: z.string(),
  action: z.custom<SettlementAction>((value) => typeof value === 'string' && ACTION.test(value)),
  txHash: z.string(),
  /** Blob reference of the proven transaction's bytes: resent as they are if the first send was lost. */
  txRef: z.string(),
  /** The deal amount the transaction settled, so a repeat with another amount is refused. */
  amount: z.string().optional(),
  /** The receipt a release issued in the same transaction. */
  receiptId: z.string().optional(),
  /** Why a `return` was sent: the refusal the lock reports, again on every retry. */
  refusal: z.string().optional(),
  provenAt: z.string(),
});
export type JournalEntry = z.infer<typeof entry>;

/**
 * Which transaction each (deal, action) sent, written before the transaction is broadcast. A retried
 * activity, or a worker restarted after a crash, finds it here and follows that transaction instead of
 * proving a second one. One small file per (deal, action), replaced atomically.
 */
export class TxJournal {
  constructor(readonly directory: string) {}

  private pathOf(dealId: string, action: SettlementAction): string {
    const key = createHash('sha256').update(dealId).digest('hex');
    const name = createHash('sha256').update(action).digest('hex').slice(0, 16);
    return join(this.directory, key.slice(0, 2), `${key}.${ACTION_FILES[action] ?? name}.json`);
  }

  async get(dealId: string, action: SettlementAction): Promise<JournalEntry | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(dealId, action), 'utf8');
    } catch {
      return undefined;
    }
    return entry.parse(JSON.parse(text));
  }

  async record(value: JournalEntry): Promise<void> {
    const path = this.pathOf(value.dealId, value.action);
    await mkdir(join(path, '..'), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(entry.parse(value)), { flush: true });
    await rename(temporary, path);
  }
}
