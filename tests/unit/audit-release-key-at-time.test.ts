import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import type { PartyKeys } from '../../audit/verify/auditor-keys';
import { checkReleaseStatements } from '../../audit/verify/release-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signReleaseStatement } from '../../lib/release-statement';
import type { KeyPeriod } from '../../lib/transparency/key-registration';

const HASH = `sha256:${'a'.repeat(64)}`;
const oldKey = generateEd25519KeyPair();
const newKey = generateEd25519KeyPair();
const ROTATED_AT = Date.parse('2026-06-01T00:00:00Z');

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A deal whose perimeter released its answer at `at`, under the statement signed by `key`. */
function releasedAt(at: number, key: typeof oldKey): SignedBundle {
  const release = signReleaseStatement(
    {
      type: 'tusk.release/v1',
      kind: 'sealed_table',
      sellerId: 'seller-a',
      dealId: 'd1',
      termsHash: HASH,
      commitment: HASH,
      epsilonCharged: 0.5,
      deltaCharged: 0,
      datasetPolicy: { version: 1, hash: HASH },
    },
    key,
  );
  const events = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cohortQueryDeal' },
        input: { payloads: [jsonPayload({ dealId: 'd1' })] },
      },
    },
    {
      eventId: '2',
      activityTaskScheduledEventAttributes: {
        activityType: { name: 'runApprovedQuery' },
        taskQueue: { name: 'perimeter.seller-a' },
        input: { payloads: [jsonPayload({ dealId: 'd1' })] },
      },
    },
    {
      eventId: '3',
      eventTime: new Date(at).toISOString(),
      activityTaskCompletedEventAttributes: {
        scheduledEventId: '2',
        result: { payloads: [jsonPayload({ commitment: HASH, epsilonSpent: 0.5, release })] },
      },
    },
  ];
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [{ workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events } }],
    },
  } as unknown as SignedBundle;
}

const registration = (publicKey: string, sequence: number, registeredAt: number) =>
  ({ partyId: 'seller-a', purpose: 'perimeter', role: 'seller', publicKey, sequence, registeredAt }) as never;
/** The log: the old perimeter key until the rotation, the new one since. */
const logged: Record<string, PartyKeys> = {
  'seller-a': {
    keys: [oldKey.publicKey, newKey.publicKey],
    from: 'the transparency log',
    periods: [
      {
        registration: registration(oldKey.publicKey, 0, 0),
        fromLeaf: 1,
        untilLeaf: 9,
        fromTime: 0,
        untilTime: ROTATED_AT,
        current: false,
      },
      {
        registration: registration(newKey.publicKey, 1, ROTATED_AT),
        fromLeaf: 9,
        fromTime: ROTATED_AT,
        current: true,
      },
    ] satisfies KeyPeriod[],
  },
};
const newest = { 'seller-a': newKey.publicKey };
const statusOf = (bundle: SignedBundle) =>
  checkReleaseStatements(bundle, newest, logged).map((c) => `${c.status}: ${c.detail}`);

describe('audit: a release is checked against the perimeter key valid when it was made', () => {
  it('accepts a release signed before a rotation by the key valid then', () => {
    expect(statusOf(releasedAt(ROTATED_AT - 1000, oldKey))).toEqual([
      expect.stringMatching(/^ok: d1: signed by seller-a's perimeter/),
    ]);
  });

  it('names a release signed after the rotation with the retired key', () => {
    expect(statusOf(releasedAt(ROTATED_AT + 1000, oldKey))).toEqual([
      expect.stringMatching(/^finding: d1: the release statement: signed with key .*a retired key/),
    ]);
  });

  it('accepts the new key after the rotation, and names it before its registration', () => {
    expect(statusOf(releasedAt(ROTATED_AT + 1000, newKey))[0]).toMatch(/^ok/);
    expect(statusOf(releasedAt(ROTATED_AT - 1000, newKey))[0]).toMatch(/^finding: .*before its key's period/);
  });

  it('names a statement signed by a key the log never registered', () => {
    const stranger = generateEd25519KeyPair();
    expect(statusOf(releasedAt(ROTATED_AT + 1000, stranger))[0]).toMatch(
      /^finding: d1: signed by .*not the seller's registered perimeter key/,
    );
  });
});
