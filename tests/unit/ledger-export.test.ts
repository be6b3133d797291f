import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { describe, expect, it, vi } from 'vitest';
import { PrivacyLedger } from '../../activities/perimeter/privacy-ledger';
import { exportLedger } from '../../cli/seller/ledger-export';

describe('tusk seller ledger export', () => {
  it('refuses while a perimeter holds the ledger, then copies it whole into one self-contained file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tusk-ledger-export-'));
    const ledger = join(dir, 'privacy-ledger.sqlite');
    const out = join(dir, 'copy.sqlite');
    const perimeter = PrivacyLedger.open(ledger); // as a running perimeter does: its lock, its WAL
    await expect(exportLedger({ ledger, out })).rejects.toThrow(/a perimeter worker is running and holds/);
    perimeter.close();

    const said = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await exportLedger({ ledger, out });
    expect(said.mock.calls[0]![0]).toMatch(/: 0 charges, 0 stored answers/);
    said.mockRestore();
    // Read-only and without any -wal or -shm beside it: the copy stands alone.
    const copy = SqliteDatabase.open(out, { mustExist: true });
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    // What the perimeter wrote last (its holder row, in its WAL until now) is in the copy.
    expect(copy.prepare('SELECT pid FROM holder').get()).toEqual({ pid: process.pid });
    copy.close();
    await expect(exportLedger({ ledger, out })).rejects.toThrow(/not overwriting/);
  });
});
