import { readFile } from 'node:fs/promises';
import { sha256Ref } from '../lib/canonical-json';

export interface LedgerLine {
  /** 1-based line number in the ledger file. */
  line: number;
  kind: string;
  digest: string;
  /** The line verbatim: its digest is over these bytes. */
  text: string;
  entry: Record<string, unknown>;
}

/** The lines of the local development ledger (JSON lines, append-only) of one escrow (`deal:<id>`). */
export function ledgerLinesFor(path: string, escrowId: string): Promise<LedgerLine[]> {
  return ledgerLinesOf(path, [escrowId]);
}

/** The lines of any of these escrows (a multi-seller deal's shares), in ledger order. */
export async function ledgerLinesOf(path: string, escrowIds: string[]): Promise<LedgerLine[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const lines: LedgerLine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (!raw.trim()) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof entry.dealId === 'string' && escrowIds.includes(entry.dealId))
      lines.push({ line: index + 1, kind: String(entry.kind), digest: sha256Ref(raw), text: raw, entry });
  });
  return lines;
}
