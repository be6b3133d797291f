import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import { pinnedKeys, pinnedKeysFile } from '../../audit/verify/auditor-keys';
import { checkBundleKeys, checkPayerKey } from '../../audit/verify/key-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const forger = generateEd25519KeyPair();
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A deal's bundle: its history starts with terms signed by `pem` in acme's name; `parties` as the operator says. */
function bundleOf(
  pem: string,
  parties: { id: string; role: string; publicKey: string }[],
  startedAt = '2026-12-01T10:00:00Z',
): SignedBundle {
  const terms = signTerms('cohort_query', 'acme', { dealId: 'd1', price: '1000' }, pem);
  const started = {
    eventId: '1',
    eventTime: startedAt,
    workflowExecutionStartedEventAttributes: {
      workflowType: { name: 'cohortQueryDeal' },
      input: { payloads: [jsonPayload({ dealId: 'd1', terms })] },
    },
  };
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [
        { workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events: [started] } },
      ],
      parties,
      templates: [],
    },
  } as unknown as SignedBundle;
}

/** The auditor's own view of acme: its genuine key, as a buyer. */
const pinned = pinnedKeys(
  pinnedKeysFile.parse({ parties: { acme: { publicKey: buyer.publicKey, role: 'buyer' } } }),
  'the keys pinned',
);

describe("audit: keys come from the auditor's pins or the log, never the bundle", () => {
  it("genuine terms and the bundle's keys agree with the pinned key: no finding", () => {
    const bundle = bundleOf(buyer.privateKeyPem, [{ id: 'acme', role: 'buyer', publicKey: buyer.publicKey }]);
    expect(checkPayerKey(bundle, pinned).map((c) => c.status)).toEqual(['ok']);
    expect(checkBundleKeys(bundle, pinned).map((c) => c.status)).toEqual(['ok']);
  });

  it("terms signed by a forger's key that the bundle names as the buyer's: both are findings", () => {
    // Self-consistent to a reader of the bundle alone: the terms verify under the key the bundle gives.
    const bundle = bundleOf(forger.privateKeyPem, [
      { id: 'acme', role: 'buyer', publicKey: forger.publicKey },
    ]);
    expect(checkPayerKey(bundle, pinned)).toEqual([
      {
        check: "payer's key",
        status: 'finding',
        detail: `the terms are signed by ${forger.publicKey}, which the keys pinned does not give for acme`,
      },
    ]);
    expect(checkBundleKeys(bundle, pinned)).toEqual([
      {
        check: "the bundle's keys",
        status: 'finding',
        detail: `the bundle gives acme key ${forger.publicKey}; the keys pinned gives ${buyer.publicKey}`,
      },
    ]);
  });

  it('a payer whose key is registered in another role, or not at all, is a finding', () => {
    const bundle = bundleOf(buyer.privateKeyPem, []);
    const asSponsor = pinnedKeys(
      pinnedKeysFile.parse({ parties: { acme: { publicKey: buyer.publicKey, role: 'sponsor' } } }),
      'the log',
    );
    expect(checkPayerKey(bundle, asSponsor).map((c) => c.detail)).toEqual([
      'the log gives acme the role sponsor, not buyer',
    ]);
    const none = { parties: { acme: { keys: [], from: 'the transparency log' } }, perimeters: {} };
    expect(checkPayerKey(bundle, none).map((c) => c.detail)).toEqual([
      'the transparency log registers no key for acme',
    ]);
  });

  it('terms signed with a key the log retired before the deal started are a finding; before, they count', () => {
    const rotatedAt = Date.parse('2026-12-01T12:00:00Z');
    const registration = (publicKey: string, sequence: number, registeredAt: number) => ({
      type: 'tusk.key-registration/v1' as const,
      partyId: 'acme',
      role: 'buyer' as const,
      purpose: 'party' as const,
      publicKey,
      sequence,
      registeredAt,
    });
    const successor = generateEd25519KeyPair().publicKey;
    const fromLog = {
      parties: {
        acme: {
          keys: [buyer.publicKey, successor],
          role: 'buyer' as const,
          from: 'the transparency log',
          periods: [
            {
              registration: registration(buyer.publicKey, 0, rotatedAt - 3_600_000),
              fromLeaf: 3,
              untilLeaf: 9,
              fromTime: rotatedAt - 3_600_000,
              untilTime: rotatedAt,
              current: false,
            },
            {
              registration: registration(successor, 1, rotatedAt),
              fromLeaf: 9,
              fromTime: rotatedAt,
              current: true,
            },
          ],
        },
      },
      perimeters: {},
    };
    const before = bundleOf(buyer.privateKeyPem, [], '2026-12-01T11:59:59Z');
    expect(checkPayerKey(before, fromLog).map((c) => c.status)).toEqual(['ok']);
    const after = bundleOf(buyer.privateKeyPem, [], '2026-12-01T12:00:01Z');
    expect(checkPayerKey(after, fromLog)).toEqual([
      {
        check: "payer's key",
        status: 'finding',
        detail: `acme's terms: signed with key ${buyer.publicKey}, retired at 2026-12-01T12:00:00.000Z (log entry 9, registration 1), but took effect at 2026-12-01T12:00:01.000Z: a retired key`,
      },
    ]);
  });

  it('without keys of its own the auditor is told what was not checked', () => {
    const bundle = bundleOf(forger.privateKeyPem, [
      { id: 'acme', role: 'buyer', publicKey: forger.publicKey },
    ]);
    expect(checkPayerKey(bundle).map((c) => c.status)).toEqual(['skipped']);
    expect(checkBundleKeys(bundle).map((c) => c.status)).toEqual(['skipped']);
  });
});
