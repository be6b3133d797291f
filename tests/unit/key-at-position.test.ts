import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import { DeliveryRecords, recordDelivery } from '../../activities/settlement/acceptance';
import { requirePayerSigned } from '../../activities/settlement/payer-key';
import { PayerKeyRecords } from '../../activities/settlement/payer-key-record';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { perimeterKeyOfRelease } from '../../activities/settlement/release-key';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import type { ExtensionLeaves, KeyHistory, RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import {
  extendByLoggedExtensions,
  loggedLeafOf,
  signedDeadlines,
} from '../../activities/settlement/remainder-terms';
import { signDecision } from '../../lib/signed-decision';
import { signReleaseStatement } from '../../lib/release-statement';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import {
  checkKeyRegistrations,
  currentRegistration,
  keySubject,
  periodHoldsLeaf,
  registrationAtLeaf,
  type KeyPurpose,
} from '../../lib/transparency/key-registration';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import {
  checkReleaseLookup,
  extensionLookupKey,
  releaseLookupKey,
  releaseStatementDigest,
} from '../../lib/transparency/release-entry';

const operatorPem = generateEd25519KeyPair().privateKeyPem;
const operator: OperatorSigner = {
  publicKey: publicKeyOf(operatorPem),
  sign: (message) => signEd25519(operatorPem, message),
};
const HASH = `sha256:${'a'.repeat(64)}`;
const SELLER = 'seller-a';
const BUYER = 'acme';

/** Settlement's view of a real log in this process: every answer checked as over HTTP. */
function keysOf(log: TransparencyLog): RegisteredKeys & KeyHistory & ReleaseLog & ExtensionLeaves {
  const checked = (partyId: string, purpose: KeyPurpose) => {
    const answer = log.keyRegistrations(partyId, purpose);
    const check = checkKeyRegistrations(answer, keySubject(partyId, purpose), operator.publicKey);
    if (!check.ok) throw new Error(check.reason);
    return check;
  };
  return {
    currentKey: async (partyId, purpose = 'party') =>
      currentRegistration(checked(partyId, purpose).registrations),
    keyPeriods: async (partyId, purpose = 'party') => checked(partyId, purpose).periods,
    loggedReleases: async (lookupKey) => {
      const check = checkReleaseLookup(log.releaseLookup(lookupKey), lookupKey, operator.publicKey);
      if (!check.ok) throw new Error(check.reason);
      return check.releases;
    },
    loggedExtensionLeaves: async (lookupKey) => {
      const answer = log.releaseLookup(lookupKey, 0, 'extension');
      const check = checkReleaseLookup(answer, lookupKey, operator.publicKey, undefined, 'extension');
      if (!check.ok) throw new Error(check.reason);
      return check.releases.map(({ document, leafIndex }) => ({ document, leafIndex }));
    },
  };
}

const termsOf = (dealId: string, key = generateEd25519KeyPair()): SignedTerms =>
  signTerms(
    'cohort_query',
    BUYER,
    {
      dealId,
      templateId: 't',
      sellerId: SELLER,
      templateHash: HASH,
      parameters: {},
      price: '1000',
      feeBps: 250,
      notAfter: '2099-12-08T10:00:00Z',
      nonce: `nonce-of-${dealId}-terms`,
      acceptanceWindowSeconds: 3600,
      resultKeyRef: HASH,
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
    },
    key.privateKeyPem,
  );

const releaseOf = (terms: SignedTerms, key: { publicKey: string; privateKeyPem: string }) =>
  signReleaseStatement(
    {
      type: 'tusk.release/v1',
      kind: 'sealed_table',
      sellerId: SELLER,
      dealId: String(terms.body.dealId),
      termsHash: termsHashOf(terms),
      commitment: HASH,
      epsilonCharged: 0.5,
      deltaCharged: 0,
      datasetPolicy: { version: 1, hash: HASH },
    } as never,
    key,
  );

async function refusalOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
    throw error;
  }
  return 'allowed';
}

describe('the key that counts is the one registered when the signature took effect', () => {
  let dir: string;
  let log: TransparencyLog;
  const oldPerimeter = generateEd25519KeyPair();
  const newPerimeter = generateEd25519KeyPair();
  const registerPerimeter = (key: { publicKey: string }) =>
    log.registerKey({ id: SELLER, role: 'seller', publicKey: key.publicKey }, 'perimeter');
  /** The perimeter's side: appends a release before returning it, as release-logging.ts does. */
  const logged = (release: ReturnType<typeof releaseOf>) =>
    log.logRelease({ lookupKey: releaseLookupKey(release.body), digest: releaseStatementDigest(release) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-key-at-position-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("holds a leaf strictly after a key's registration and before its successor's", async () => {
    registerPerimeter(oldPerimeter);
    const before = releaseOf(termsOf('d-before'), oldPerimeter);
    logged(before);
    registerPerimeter(newPerimeter);
    const periods = await keysOf(log).keyPeriods(SELLER, 'perimeter');
    expect(periods.map((p) => [p.fromLeaf, p.untilLeaf])).toEqual([
      [0, 2],
      [2, undefined],
    ]);
    expect(periods.map((p) => periodHoldsLeaf(p, 1))).toEqual([true, false]);
    expect(periods.map((p) => periodHoldsLeaf(p, 2))).toEqual([false, false]);
    expect(periods.map((p) => periodHoldsLeaf(p, 3))).toEqual([false, true]);
    expect(registrationAtLeaf(periods, 0)).toBeUndefined();
    expect(registrationAtLeaf(periods, 1)?.publicKey).toBe(oldPerimeter.publicKey);
    expect(registrationAtLeaf(periods, 7)?.publicKey).toBe(newPerimeter.publicKey);
  });

  it('judges a release logged before the rotation under the old key, one after it under the new', async () => {
    registerPerimeter(oldPerimeter);
    const terms = termsOf('d-rotated');
    const genuine = releaseOf(terms, oldPerimeter);
    logged(genuine);
    registerPerimeter(newPerimeter);
    const keys = keysOf(log);
    const keyOf = (statement: unknown, of = terms) =>
      perimeterKeyOfRelease(keys, {
        sellerId: SELLER,
        dealId: String(of.body.dealId),
        termsHash: termsHashOf(of),
        statement,
      });
    expect(await keyOf(genuine)).toEqual({ publicKey: oldPerimeter.publicKey, source: 'log-position' });
    // The retired key's fresh release, logged after the rotation: the key at its leaf is the new one.
    const lateTerms = termsOf('d-late');
    const late = releaseOf(lateTerms, oldPerimeter);
    logged(late);
    expect(await keyOf(late, lateTerms)).toEqual({
      publicKey: newPerimeter.publicKey,
      source: 'log-position',
    });
    // Not logged at all: judged now.
    const unlogged = releaseOf(termsOf('d-unlogged'), oldPerimeter);
    expect((await keyOf(unlogged))?.publicKey).toBe(newPerimeter.publicKey);
    expect(await keyOf(releaseOf(terms, newPerimeter))).toEqual({
      publicKey: newPerimeter.publicKey,
      source: 'current',
    });
    // No statement at all, or one without a key: nothing to look up, the current key refuses it.
    for (const missing of [undefined, null, { body: genuine.body }])
      expect(await keyOf(missing)).toEqual({ publicKey: newPerimeter.publicKey, source: 'current' });
  });

  it('records the delivery of a release signed before the rotation, not a retired key’s after it', async () => {
    registerPerimeter(oldPerimeter);
    const terms = termsOf('d-paid');
    const genuine = releaseOf(terms, oldPerimeter);
    logged(genuine);
    registerPerimeter(newPerimeter);
    const records = new DeliveryRecords(join(dir, 'deliveries'));
    const deliver = (of: SignedTerms, release: unknown) =>
      refusalOf(() =>
        recordDelivery(
          {
            dealId: dealEscrowId(String(of.body.dealId), `nonce-of-${String(of.body.dealId)}-terms`),
            terms: of,
            release,
          },
          { keys: keysOf(log), records, now: 5 },
        ),
      );
    expect(await deliver(terms, genuine)).toBe('allowed');
    const lateTerms = termsOf('d-forged');
    const late = releaseOf(lateTerms, oldPerimeter);
    logged(late);
    expect(await deliver(lateTerms, late)).toMatch(
      new RegExp(`^ReleaseUnsigned: .*not the seller's registered perimeter key ${newPerimeter.publicKey}`),
    );
    expect(await deliver(lateTerms, releaseOf(lateTerms, generateEd25519KeyPair()))).toMatch(
      /^ReleaseUnsigned/,
    );
  });
});

describe("settlement's record of the payer's key at lock", () => {
  let dir: string;
  let log: TransparencyLog;
  const oldKey = generateEd25519KeyPair();
  const newKey = generateEd25519KeyPair();
  const registerBuyer = (key: { publicKey: string }) =>
    log.registerKey({ id: BUYER, role: 'buyer', publicKey: key.publicKey }, 'party');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-payer-key-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
    registerBuyer(oldKey);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const lock = (terms: SignedTerms, records?: PayerKeyRecords, now = Date.now()) =>
    refusalOf(() => requirePayerSigned({ buyerId: BUYER, terms }, keysOf(log), records, now));

  it('locks again on terms signed before a rotation, and refuses new terms of the retired key', async () => {
    const records = new PayerKeyRecords(join(dir, 'payer-keys'));
    const terms = termsOf('d-subscribed', oldKey);
    expect(await lock(terms, records)).toBe('allowed');
    expect(await records.recorded(BUYER, termsHashOf(terms))).toMatchObject({
      publicKey: oldKey.publicKey,
      sequence: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    registerBuyer(newKey);
    // The next lock on the same terms: under the key settlement verified at the first.
    expect(await lock(terms, records)).toBe('allowed');
    // Without the record, the current key alone decides: the genuine terms would be stranded.
    expect(await lock(terms)).toMatch(/^PayerNotSigned: .*not acme's registered key/);
    // The retired key signs new terms after the rotation: no record, the current key refuses them.
    expect(await lock(termsOf('d-after-rotation', oldKey), records)).toMatch(
      /^PayerNotSigned: .*not acme's registered key/,
    );
    expect(await lock(termsOf('d-new-key', newKey), records)).toBe('allowed');
  });

  it('refuses a record the log does not bear out', async () => {
    const records = new PayerKeyRecords(join(dir, 'payer-keys'));
    const terms = termsOf('d-forged-record', oldKey);
    // A record naming the key at a time before it was registered (or after its successor).
    await records.recordOnce({
      signer: BUYER,
      termsHash: termsHashOf(terms),
      publicKey: oldKey.publicKey,
      sequence: 0,
      lockedAt: 1,
    });
    expect(await lock(terms, records)).toMatch(
      /^PayerNotSigned: .*recorded at lock is not what the log registered/,
    );
    const other = termsOf('d-wrong-sequence', oldKey);
    await records.recordOnce({
      signer: BUYER,
      termsHash: termsHashOf(other),
      publicKey: oldKey.publicKey,
      sequence: 1,
      lockedAt: Date.now(),
    });
    expect(await lock(other, records)).toMatch(/^PayerNotSigned: .*registers no key for acme/);
  });
});

describe("a sponsor's deadline extension, judged at its leaf in the log", () => {
  let dir: string;
  let log: TransparencyLog;
  const oldKey = generateEd25519KeyPair();
  const newKey = generateEd25519KeyPair();
  const DEADLINE = Date.parse('2030-01-01T00:00:00Z');
  const milestones = [{ milestoneId: 'm1', deadline: new Date(DEADLINE).toISOString() }];
  const grant = signTerms(
    'grant',
    'sp',
    { grantId: 'g1', nonce: 'nonce-of-the-grant-g1' },
    oldKey.privateKeyPem,
  );
  const lookupKey = extensionLookupKey({ grantId: 'g1', termsHash: termsHashOf(grant) });
  const extension = (key: string, deadline: number) =>
    signDecision(key, {
      workflowId: 'g1',
      runId: 'grant-run',
      subject: { id: 'g1', termsHash: termsHashOf(grant) },
      action: 'deadline_extension',
      principal: 'sp',
      content: { milestoneId: 'm1', deadline },
      notAfter: 1_000,
    });
  const registerSponsor = (key: { publicKey: string }) =>
    log.registerKey({ id: 'sp', role: 'sponsor', publicKey: key.publicKey }, 'party');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-extension-key-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps an extension logged before the rotation, and drops the retired key’s logged after it', async () => {
    registerSponsor(oldKey);
    const genuine = extension(oldKey.privateKeyPem, DEADLINE + 1_000);
    log.logExtension(lookupKey, genuine);
    registerSponsor(newKey);
    const late = extension(oldKey.privateKeyPem, DEADLINE + 9_000);
    log.logExtension(lookupKey, late);
    const keys = keysOf(log);

    // Shown by the workflow: the genuine one counts at its leaf; the retired key's late one is refused.
    const shown = await signedDeadlines(grant, milestones, [genuine], keys, loggedLeafOf(grant, keys));
    expect(shown.get('m1')).toBe(DEADLINE + 1_000);
    await expect(signedDeadlines(grant, milestones, [late], keys, loggedLeafOf(grant, keys))).rejects.toThrow(
      /not signed by sp's registered key/,
    );
    // Without the log's leaves, only the current key decides: the genuine extension would be lost.
    await expect(signedDeadlines(grant, milestones, [genuine], keys)).rejects.toThrow(/not signed by sp's/);

    // Read from the log alone: the genuine one extends, the late one is skipped.
    const deadlines = new Map([['m1', DEADLINE]]);
    await extendByLoggedExtensions(deadlines, grant, milestones, keys);
    expect(deadlines.get('m1')).toBe(DEADLINE + 1_000);
  });
});
