import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../lib/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import {
  checkConsistency,
  checkInclusion,
  checkTreeHead,
  type LogEntry,
} from '../../lib/transparency/tree-head';

const operator = generateEd25519KeyPair();
const signer: OperatorSigner = {
  publicKey: publicKeyOf(operator.privateKeyPem),
  sign: (message) => signEd25519(operator.privateKeyPem, message),
};
const entry = (i: number, kind: LogEntry['kind'] = 'receipt'): LogEntry => ({
  type: 'tusk.log-entry/v1',
  kind,
  dealId: `deal-${i}`,
  digest: `sha256:${i.toString(16).padStart(64, '0')}`,
});

describe("the operator's transparency log", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends once per entry, signs a head per size, and keeps everything across a reopen', () => {
    const path = join(dir, 'log.sqlite');
    const log = TransparencyLog.open(path, signer);
    expect(log.head().body.treeSize).toBe(0);
    for (let i = 0; i < 5; i++)
      expect(log.append(entry(i), { n: i })).toEqual({ leafIndex: i, appended: true });
    expect(log.append(entry(2), { n: 2 })).toEqual({ leafIndex: 2, appended: false });
    const head = log.head();
    expect(head.body.treeSize).toBe(5);
    expect(checkTreeHead(head, signer.publicKey)).toEqual({ ok: true });
    log.close();

    const reopened = TransparencyLog.open(path, signer);
    expect(reopened.head()).toEqual(head);
    expect(reopened.documentFor('deal-3', 'receipt')).toEqual({ leafIndex: 3, document: { n: 3 } });
    const proof = reopened.inclusion(3, 5);
    expect(checkInclusion(entry(3), proof, signer.publicKey)).toEqual({ ok: true });
    expect(checkInclusion(entry(4), proof, signer.publicKey)).toMatchObject({ ok: false });
    reopened.close();
  });

  it('keeps one receipt per deal: a second, different receipt for the same deal is not appended', () => {
    const log = TransparencyLog.open(join(dir, 'log.sqlite'), signer);
    expect(log.append(entry(1), { first: true }, { onePerDeal: true })).toEqual({
      leafIndex: 0,
      appended: true,
    });
    const other = { ...entry(1), digest: `sha256:${'f'.repeat(64)}` };
    expect(log.append(other, { first: false }, { onePerDeal: true })).toEqual({
      leafIndex: 0,
      appended: false,
    });
    expect(log.size()).toBe(1);
    expect(log.documentFor('deal-1', 'receipt')?.document).toEqual({ first: true });
    log.close();
  });

  it('refuses to update or delete a leaf, even through SQL', () => {
    const path = join(dir, 'log.sqlite');
    const log = TransparencyLog.open(path, signer);
    log.append(entry(0), {});
    log.close();
    const db = SqliteDatabase.open(path);
    expect(() => db.prepare("UPDATE leaves SET deal_id = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM leaves').run()).toThrow(/append-only/);
    db.close();
  });

  it('a consistency proof links every older head to the newest', () => {
    const log = TransparencyLog.open(join(dir, 'log.sqlite'), signer);
    const heads = [log.head()];
    for (let i = 0; i < 9; i++) {
      log.append(entry(i), {});
      heads.push(log.head());
    }
    const newest = heads.at(-1)!;
    for (const older of heads)
      expect(checkConsistency(older.body, newest.body, log.consistency(older.body.treeSize, 9))).toEqual({
        ok: true,
      });
    log.close();
  });

  it('an operator who rewrites or drops history is caught by anyone holding an older head', () => {
    const honest = TransparencyLog.open(join(dir, 'honest.sqlite'), signer);
    for (let i = 0; i < 6; i++) honest.append(entry(i), {});
    const held = honest.head();

    // The same operator key, a log where receipt 2 was dropped and the rest appended again.
    const rewritten = TransparencyLog.open(join(dir, 'rewritten.sqlite'), signer);
    for (const i of [0, 1, 3, 4, 5, 6, 7]) rewritten.append(entry(i), {});
    const now = rewritten.head();
    const proof = rewritten.consistency(held.body.treeSize, now.body.treeSize);
    expect(checkConsistency(held.body, now.body, proof)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/history was rewritten/),
    });
    // A log that shrank cannot even be asked.
    expect(
      checkConsistency(held.body, { ...now.body, treeSize: 4 }, { first: 6, second: 4, path: [] }),
    ).toMatchObject({
      ok: false,
    });
    honest.close();
    rewritten.close();
  });

  it('answers impossible proof requests with a range error', () => {
    const log = TransparencyLog.open(join(dir, 'log.sqlite'), signer);
    log.append(entry(0), {});
    expect(() => log.inclusion(1, 1)).toThrow(/not in a tree of size 1/);
    expect(() => log.consistency(0, 2)).toThrow(/not a size of this log/);
    expect(() => log.consistency(1, 0)).toThrow(/must not exceed/);
    log.close();
  });
});
