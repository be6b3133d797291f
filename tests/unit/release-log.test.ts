import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { EXPIRY_CLOCK_MARGIN_MS, requireUndeliveredRefund } from '../../activities/settlement/refund-proof';
import { dealEscrowId, shareEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import type { RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { signTerms, termsHashOf } from '../../lib/signed-terms';
import { signRefusalStatement } from '../../lib/refusal-statement';
import {
  checkReleaseLookup,
  releaseLookupKey,
  type ReleaseLookup,
} from '../../lib/transparency/release-entry';
import type { OperatorSigner } from '../../lib/transparency/operator-key';

const signerOf = (pem: string): OperatorSigner => ({
  publicKey: publicKeyOf(pem),
  sign: (message) => signEd25519(pem, message),
});
const operator = signerOf(generateEd25519KeyPair().privateKeyPem);
const buyer = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const NOT_AFTER = '2026-12-08T10:00:00Z';
const EXPIRED = Date.parse(NOT_AFTER) + EXPIRY_CLOCK_MARGIN_MS + 1;
const compliance = { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] };

const dealTerms = (nonce = NONCE) =>
  signTerms(
    'cohort_query',
    'acme',
    {
      dealId: 'd1',
      templateId: 't',
      sellerId: 'seller-a',
      templateHash: HASH,
      parameters: {},
      price: '1000',
      feeBps: 250,
      notAfter: NOT_AFTER,
      nonce,
      acceptanceWindowSeconds: 3600,
      resultKeyRef: HASH,
      compliance,
    },
    buyer.privateKeyPem,
  );
const multiTerms = signTerms(
  'multi_seller',
  'acme',
  {
    dealId: 'm1',
    templateId: 't',
    sellers: [
      { sellerId: 'seller-a', templateHash: HASH, price: '600' },
      { sellerId: 'seller-b', templateHash: HASH, price: '400' },
    ],
    parameters: {},
    price: '1000',
    feeBps: 250,
    notAfter: NOT_AFTER,
    nonce: NONCE,
    acceptanceWindowSeconds: 3600,
    heKeyRef: HASH,
    compliance,
  },
  buyer.privateKeyPem,
);

const keyOf = (sellerId: string, dealId: string, terms: ReturnType<typeof dealTerms>) =>
  releaseLookupKey({ sellerId, dealId, termsHash: termsHashOf(terms) });

describe('the lookup key of a release', () => {
  it('is 32 bytes of hex naming no party, deal or figure, and differs per seller, deal and terms', () => {
    const key = keyOf('seller-a', 'd1', dealTerms());
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(keyOf('seller-a', 'd1', dealTerms())).toBe(key);
    const others = [
      keyOf('seller-b', 'd1', dealTerms()),
      keyOf('seller-a', 'd2', dealTerms()),
      keyOf('seller-a', 'd1', dealTerms('another-nonce')),
    ];
    expect(new Set([key, ...others]).size).toBe(4);
  });

  it('cannot be shifted across its parts (length-delimited)', () => {
    const a = releaseLookupKey({ sellerId: 'ab', dealId: 'c', termsHash: HASH });
    const b = releaseLookupKey({ sellerId: 'a', dealId: 'bc', termsHash: HASH });
    expect(a).not.toBe(b);
  });
});

describe('releases in the transparency log', () => {
  let dir: string;
  let log: TransparencyLog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-releases-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const lookupKey = keyOf('seller-a', 'd1', dealTerms());
  const check = (answer: ReleaseLookup, key = lookupKey, saved?: ReleaseLookup['treeHead']) => {
    const checked = checkReleaseLookup(answer, key, operator.publicKey, saved);
    return checked.ok ? checked.releases.map((r) => r.digest) : checked.reason;
  };

  it('logs a release once and proves it, with no party id or figure in the stored entry', () => {
    const first = log.logRelease({ lookupKey, digest: DIGEST });
    const again = log.logRelease({ lookupKey, digest: DIGEST });
    expect(log.size()).toBe(1);
    expect(check(first)).toEqual([DIGEST]);
    expect(check(again)).toEqual([DIGEST]);
    // What a reader learns of a release: a digest and a place in the log, under a key it must know.
    expect(JSON.stringify(first)).not.toMatch(/seller|acme|price|epsilon/);
    expect(Object.keys(first.releases[0]!).sort()).toEqual(['digest', 'leafIndex', 'path']);
    const sellerB = keyOf('seller-b', 'd1', dealTerms());
    expect(check(log.releaseLookup(sellerB), sellerB)).toEqual([]);
  });

  it('refuses an answer that leaves out a logged release, a statement for another key, or a fork', () => {
    log.logRelease({ lookupKey, digest: DIGEST });
    const honest = log.releaseLookup(lookupKey);
    // The operator drops the release from the answer but cannot re-sign the statement without it.
    expect(check({ ...honest, releases: [] })).toMatch(/does not say what the answer holds/);
    const forged = { ...honest.statement, body: { ...honest.statement.body, leafIndexes: [] } };
    expect(check({ ...honest, releases: [], statement: forged })).toMatch(/signature does not match/);
    const otherKey = log.releaseLookup(keyOf('seller-b', 'd1', dealTerms()));
    expect(check({ ...otherKey, lookupKey }, lookupKey)).toMatch(/does not say what the answer holds/);
    // A log forked to drop the release: its head does not extend the one a reader saved.
    const forkedLog = TransparencyLog.open(join(dir, 'forked.sqlite'), operator);
    forkedLog.logRelease({ lookupKey: keyOf('seller-b', 'd1', dealTerms()), digest: DIGEST });
    forkedLog.logRelease({ lookupKey: keyOf('seller-b', 'd2', dealTerms()), digest: DIGEST });
    expect(check(forkedLog.releaseLookup(lookupKey, 1), lookupKey, honest.treeHead)).toMatch(
      /history was rewritten/,
    );
    forkedLog.close();
  });
});

describe('an expired deal nobody showed delivered is refunded only when the log holds no release of it', () => {
  const perimeter = generateEd25519KeyPair();
  const logged = new Set<string>();
  const keys: RegisteredKeys & ReleaseLog = {
    currentKey: async (partyId) => ({ partyId, role: 'seller', publicKey: perimeter.publicKey }) as never,
    loggedReleases: async (lookupKey) =>
      logged.has(lookupKey) ? [{ digest: DIGEST, leafIndex: 7, path: [] }] : [],
  };
  const refund = async (
    dealId: string,
    terms: ReturnType<typeof dealTerms>,
    log: Partial<ReleaseLog> = keys,
  ) => {
    try {
      await requireUndeliveredRefund({ dealId, terms }, { keys: { ...keys, ...log }, now: EXPIRED });
    } catch (error) {
      if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
      throw error;
    }
    return 'refunded';
  };

  it('refunds an expired deal with no logged release, and refuses one its seller logged', async () => {
    const terms = dealTerms();
    const escrow = dealEscrowId('d1', NONCE);
    expect(await refund(escrow, terms)).toBe('refunded');
    logged.add(keyOf('seller-a', 'd1', terms));
    expect(await refund(escrow, terms)).toMatch(
      /^RefundUnproven: the transparency log holds seller-a's release of .* \(leaf 7, statement sha256:b+\)/,
    );
  });

  it("refuses a share its seller logged a contribution for, not another seller's share", async () => {
    logged.add(keyOf('seller-a', 'm1', multiTerms));
    expect(await refund(shareEscrowId('m1', 'seller-a', NONCE), multiTerms)).toMatch(/^RefundUnproven/);
    expect(await refund(shareEscrowId('m1', 'seller-b', NONCE), multiTerms)).toBe('refunded');
  });

  it("refuses when settlement reads no release log, unless the perimeter's refusal comes with the refund", async () => {
    const nonce = 'second-nonce-of-terms';
    const terms = dealTerms(nonce);
    const noLog = { ...keys, loggedReleases: undefined };
    const refundWith = async (refusal?: unknown) => {
      try {
        await requireUndeliveredRefund(
          { dealId: dealEscrowId('d1', nonce), terms, ...(refusal ? { refusal } : {}) },
          { keys: noLog, now: EXPIRED },
        );
      } catch (error) {
        if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
        throw error;
      }
      return 'refunded';
    };
    expect(await refundWith()).toMatch(/^RefundUnproven: settlement reads no release log/);
    const refusal = signRefusalStatement(
      {
        type: 'tusk.refusal/v1',
        sellerId: 'seller-a',
        dealId: 'd1',
        termsHash: termsHashOf(terms),
        code: 'Expired',
      },
      perimeter,
    );
    expect(await refundWith(refusal)).toBe('refunded');
  });
});
