import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import {
  checkKeyRegistrations,
  currentRegistration,
  keySubject,
  periodCovers,
  type RegistrationsCheck,
} from '../../lib/transparency/key-registration';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';

const signerOf = (pem: string): OperatorSigner => ({
  publicKey: publicKeyOf(pem),
  sign: (message) => signEd25519(pem, message),
});
const operator = signerOf(generateEd25519KeyPair().privateKeyPem);
const buyer = (publicKey = generateEd25519KeyPair().publicKey) => ({
  id: 'buyer-1',
  role: 'buyer' as const,
  publicKey,
});
const SUBJECT = keySubject('buyer-1', 'party');

const reasonOf = (check: RegistrationsCheck) => (check.ok ? 'ok' : check.reason);

describe('key registrations in the transparency log', () => {
  let dir: string;
  let log: TransparencyLog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-keys-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs a key once, a rotation as a new registration, and proves the newest to a signed head', () => {
    const first = buyer();
    expect(log.registerKey(first, 'party')).toBe(true);
    expect(log.registerKey(first, 'party')).toBe(false);
    const before = log.keyRegistrations('buyer-1', 'party');
    const seen = checkKeyRegistrations(before, SUBJECT, operator.publicKey);
    expect(seen.ok && currentRegistration(seen.registrations)?.publicKey).toBe(first.publicKey);

    const rotated = buyer();
    expect(log.registerKey(rotated, 'party')).toBe(true);
    // The same key again after a rotation is a new registration: the newest is what counts.
    expect(log.registerKey(first, 'party')).toBe(true);
    const after = log.keyRegistrations('buyer-1', 'party', before.treeHead.body.treeSize);
    const checked = checkKeyRegistrations(after, SUBJECT, operator.publicKey, before.treeHead);
    expect(reasonOf(checked)).toBe('ok');
    if (!checked.ok) return;
    expect(checked.registrations.map((r) => [r.sequence, r.publicKey])).toEqual([
      [0, first.publicKey],
      [1, rotated.publicKey],
      [2, first.publicKey],
    ]);
  });

  it("ends a key's period at its successor's registration, in log positions and times", async () => {
    const first = buyer();
    const second = buyer();
    log.registerKey(first, 'party');
    log.registerKey({ id: 'lab', role: 'buyer', publicKey: generateEd25519KeyPair().publicKey }, 'party');
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.registerKey(second, 'party');
    const checked = checkKeyRegistrations(
      log.keyRegistrations('buyer-1', 'party'),
      SUBJECT,
      operator.publicKey,
    );
    if (!checked.ok) throw new Error(checked.reason);
    const [old, current] = checked.periods;
    expect([old!.fromLeaf, old!.untilLeaf, old!.current]).toEqual([0, 2, false]);
    expect([current!.fromLeaf, current!.untilLeaf, current!.current]).toEqual([2, undefined, true]);
    expect(old!.untilTime).toBe(current!.fromTime);
    const rotatedAt = current!.fromTime!;
    // The old key spoke for the buyer until the rotation, not after; the new one from it on.
    expect(periodCovers(old!, rotatedAt - 1)).toBe(true);
    expect(periodCovers(old!, rotatedAt)).toBe(false);
    expect(periodCovers(current!, rotatedAt - 1)).toBe(false);
    expect(periodCovers(current!, rotatedAt + 86_400_000)).toBe(true);
    // A retired key whose end the log did not record is valid at no time.
    expect(periodCovers({ ...old!, untilTime: undefined }, rotatedAt - 1)).toBe(false);
  });

  it('refuses a head the pinned operator key did not sign', () => {
    log.registerKey(buyer(), 'party');
    const other = signerOf(generateEd25519KeyPair().privateKeyPem).publicKey;
    expect(reasonOf(checkKeyRegistrations(log.keyRegistrations('buyer-1', 'party'), SUBJECT, other))).toMatch(
      /not the operator's pinned key/,
    );
  });

  it('refuses a registration that is not in the signed head, and one left out of the answer', () => {
    log.registerKey(buyer(), 'party');
    log.registerKey(buyer(), 'party');
    const answer = log.keyRegistrations('buyer-1', 'party');
    const swapped = structuredClone(answer);
    swapped.registrations[1]!.registration.publicKey = generateEd25519KeyPair().publicKey;
    expect(reasonOf(checkKeyRegistrations(swapped, SUBJECT, operator.publicKey))).toMatch(
      /not in the log's signed head/,
    );
    const hidden = { ...answer, registrations: answer.registrations.slice(1) };
    expect(reasonOf(checkKeyRegistrations(hidden, SUBJECT, operator.publicKey))).toMatch(/missing/);
  });

  it('names a forked log: another log under the same operator key than the head saved before', async () => {
    const honest = buyer();
    log.registerKey(honest, 'party');
    log.registerKey({ ...buyer(), id: 'buyer-2' }, 'party');
    const saved = log.keyRegistrations('buyer-1', 'party').treeHead;
    // The operator keeps a second log in which the buyer's key was swapped from the start.
    const forked = TransparencyLog.open(join(dir, 'forked.sqlite'), operator);
    forked.registerKey(buyer(), 'party');
    forked.registerKey({ ...buyer(), id: 'buyer-2' }, 'party');
    forked.registerKey({ ...buyer(), id: 'buyer-3' }, 'party');
    const sameSize = checkKeyRegistrations(
      { ...forked.keyRegistrations('buyer-1', 'party', 2) },
      SUBJECT,
      operator.publicKey,
      saved,
    );
    expect(reasonOf(sameSize)).toMatch(/history was rewritten/);
    const short = TransparencyLog.open(join(dir, 'short.sqlite'), operator);
    const rolledBack = checkKeyRegistrations(
      short.keyRegistrations('buyer-1', 'party'),
      SUBJECT,
      operator.publicKey,
      saved,
    );
    expect(reasonOf(rolledBack)).toMatch(/older than one already seen/);
    short.close();
    forked.close();
  });
});
