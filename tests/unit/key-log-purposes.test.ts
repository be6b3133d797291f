import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import { KeyLogPurposeUnknownError, KeyLogUntrustedError, readKeyLog } from '../../lib/key-log';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import { TuskApiError } from '../../lib/tusk-client';

const operatorPem = generateEd25519KeyPair().privateKeyPem;
const operator = { publicKey: publicKeyOf(operatorPem), sign: (m: string) => signEd25519(operatorPem, m) };
const key = () => generateEd25519KeyPair().publicKey;

describe('the key-log reader and purposes it does not know', () => {
  let dir: string;
  let log: TransparencyLog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-purposes-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const query = { partyId: 'buyer-1', purpose: 'party' as const, operatorPublicKey: operator.publicKey };
  /** The log's answer, with each registration passed through `change` (a newer log's, or a tampered one). */
  const answerWith = (change: (entries: unknown[]) => unknown[]) => async () => {
    const answer = log.keyRegistrations('buyer-1', 'party');
    return { ...answer, registrations: change(answer.registrations) };
  };
  const relabelled = (entry: unknown) => {
    const { registration, ...rest } = entry as { registration: object };
    return { ...rest, registration: { ...registration, purpose: 'future-purpose' } };
  };

  it('reads the subject’s keys from an answer that also lists a registration of an unknown purpose', async () => {
    const first = key();
    log.registerKey({ id: 'buyer-1', role: 'buyer', publicKey: first }, 'party');
    const read = await readKeyLog(
      answerWith((entries) => [...entries, relabelled(entries[0])]),
      query,
    );
    expect(read.registrations.map((r) => r.publicKey)).toEqual([first]);
  });

  it('still refuses an answer whose middle registration was relabelled away: the gap shows', async () => {
    for (const publicKey of [key(), key(), key()])
      log.registerKey({ id: 'buyer-1', role: 'buyer', publicKey }, 'party');
    const read = readKeyLog(
      answerWith((entries) => entries.map((e, i) => (i === 1 ? relabelled(e) : e))),
      query,
    );
    await expect(read).rejects.toThrow(KeyLogUntrustedError);
    await expect(read).rejects.toThrow(/registration 1 of key:party:buyer-1 is missing/);
  });

  it('names an API older than the purpose asked, instead of a bare validation error', async () => {
    const olderApi = async () => {
      throw new TuskApiError(
        400,
        'invalid_request',
        'querystring/purpose: Invalid option: expected one of "party"|"perimeter"',
      );
    };
    const read = readKeyLog(olderApi, { ...query, purpose: 'perimeter-sealing' });
    await expect(read).rejects.toThrow(KeyLogPurposeUnknownError);
    await expect(read).rejects.toThrow(/does not know key purpose 'perimeter-sealing'.*upgrade the API/);
  });
});
