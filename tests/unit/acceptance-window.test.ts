import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRecords, recordDelivery, requireBuyerConsent } from '../../activities/settlement/acceptance';
import { SettlementRefusedError } from '../../activities/settlement/port';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import type { RegisteredKeys } from '../../lib/key-log';
import { signReleaseStatement } from '../../lib/release-statement';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const WINDOW_S = 3600;

const terms = signTerms(
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
    notAfter: '2026-12-08T10:00:00Z',
    nonce: NONCE,
    acceptanceWindowSeconds: WINDOW_S,
    resultKeyRef: HASH,
    compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
  },
  buyer.privateKeyPem,
);
const escrow = dealEscrowId('d1', NONCE);
const run = { workflowId: 'd1', runId: 'run-1' };

/** The log as a unit sees it: the buyer's party key and the seller's perimeter key. */
const keys: RegisteredKeys = {
  currentKey: async (partyId, purpose = 'party') => {
    if (partyId === 'acme' && purpose === 'party')
      return { partyId, role: 'buyer', publicKey: buyer.publicKey } as never;
    if (partyId === 'seller-a' && purpose === 'perimeter')
      return { partyId, role: 'seller', publicKey: perimeter.publicKey } as never;
    return undefined;
  },
};

const release = (overrides: Record<string, unknown> = {}, key = perimeter) =>
  signReleaseStatement(
    {
      type: 'tusk.release/v1',
      kind: 'sealed_table',
      sellerId: 'seller-a',
      dealId: 'd1',
      termsHash: termsHashOf(terms),
      commitment: HASH,
      epsilonCharged: 0.5,
      deltaCharged: 0,
      datasetPolicy: { version: 1, hash: HASH },
      ...overrides,
    } as never,
    key,
  );

const confirmation = (key = buyer.privateKeyPem, scope = run) =>
  signDecision(key, {
    ...scope,
    subject: { id: 'd1', termsHash: termsHashOf(terms) },
    action: 'deal_confirmation',
    principal: 'acme',
    content: {},
    notAfter: 2_000,
  });

async function refusalOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError) return `${error.refusal}: ${error.message}`;
    throw error;
  }
  return 'allowed';
}

describe("settlement holds an unconfirmed payout to the buyer's signed acceptance window", () => {
  let dir: string;
  let records: DeliveryRecords;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-deliveries-'));
    records = new DeliveryRecords(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const consent = (now: number, confirmationOf?: ReturnType<typeof confirmation>, asking = run) =>
    refusalOf(() =>
      requireBuyerConsent(
        { dealId: escrow, terms, ...(confirmationOf ? { confirmation: confirmationOf } : {}) },
        { keys, records, now, asking },
      ),
    );

  it('refuses an unconfirmed payout when settlement was never shown the delivery', async () => {
    expect(await consent(10_000_000)).toMatch(/^AcceptanceWindowOpen: .*never shown the delivery/);
  });

  it('records a delivery only with the perimeter’s signed release for these terms', async () => {
    const at = (statement: unknown) =>
      refusalOf(() =>
        recordDelivery({ dealId: escrow, terms, release: statement }, { keys, records, now: 1 }),
      );
    expect(await at(undefined)).toMatch(/^ReleaseUnsigned/);
    expect(await at(release({}, stranger))).toMatch(/^ReleaseUnsigned: .*registered perimeter key/);
    expect(await at(release({ termsHash: HASH }))).toMatch(/^ReleaseUnsigned: .*other terms/);
    expect(await at(release({ dealId: 'd2' }))).toMatch(/^ReleaseUnsigned: .*releases deal d2/);
    expect(await at(release({ kind: 'he_contribution' }))).toMatch(/^ReleaseUnsigned: .*he_contribution/);
    expect(await records.deliveredAt(escrow)).toBeUndefined();
  });

  it('keeps the first delivery time: a later report neither restarts nor shortens the window', async () => {
    const first = await recordDelivery(
      { dealId: escrow, terms, release: release() },
      { keys, records, now: 1_000 },
    );
    const again = await recordDelivery(
      { dealId: escrow, terms, release: release() },
      { keys, records, now: 9_000 },
    );
    expect(first).toEqual({ deliveredAt: 1_000 });
    expect(again).toEqual({ deliveredAt: 1_000 });
  });

  it('pays without a confirmation only once the signed window has passed since the delivery', async () => {
    const endsAt = 1_000 + WINDOW_S * 1000;
    expect(await consent(endsAt - 1)).toMatch(/^AcceptanceWindowOpen: .*open until/);
    expect(await consent(endsAt)).toBe('allowed');
  });

  it('a payout carrying the release records a delivery settlement missed: the window runs from then', async () => {
    const missed = dealEscrowId('d1', 'other-nonce-of-terms');
    const withNonce = signTerms(
      'cohort_query',
      'acme',
      { ...terms.body, nonce: 'other-nonce-of-terms' },
      buyer.privateKeyPem,
    );
    const statement = release({ termsHash: termsHashOf(withNonce) });
    const payout = (now: number) =>
      refusalOf(() =>
        requireBuyerConsent(
          { dealId: missed, terms: withNonce, release: statement },
          { keys, records, now, asking: run },
        ),
      );
    expect(await payout(50_000)).toMatch(/^AcceptanceWindowOpen: .*open until/);
    expect(await records.deliveredAt(missed)).toBe(50_000);
    expect(await payout(50_000 + WINDOW_S * 1000)).toBe('allowed');
  });

  it("pays at once on the buyer's own confirmation for this run, and on no other", async () => {
    expect(await consent(1_500, confirmation())).toBe('allowed');
    expect(await consent(1_500, confirmation(stranger.privateKeyPem))).toMatch(
      /^ConfirmationInvalid: .*not acme's registered key/,
    );
    expect(await consent(1_500, confirmation(buyer.privateKeyPem, { ...run, runId: 'run-0' }))).toMatch(
      /^ConfirmationInvalid: .*signed for run run-0/,
    );
    const unsigned = { ...confirmation(), signature: undefined } as never;
    expect(await consent(1_500, unsigned)).toMatch(/^ConfirmationInvalid: .*not signed/);
  });
});
