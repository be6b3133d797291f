import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { dealEscrowId, periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { keyLogPath } from '../../lib/key-log';
import { addParty, partiesFile, type Party } from '../../lib/parties';
import { loadPerimeterKey } from '../../lib/perimeter-key';
import { signRefusalStatement } from '../../lib/refusal-statement';
import { signReleaseStatement, type ReleaseStatement } from '../../lib/release-statement';
import { termsHashOf, x25519KeyDocument, type SignedTerms } from '../../lib/signed-terms';
import { releaseLookupKey, releaseStatementDigest } from '../../lib/transparency/release-entry';
import { TuskClient } from '../../lib/tusk-client';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { CohortQueryDealInput } from '../../workflows/deal/state';
import { operatorRunQuery, type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import { dealTermsBody, RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import { ledgerBalances, startOperatorWorker, type OperatorWorker } from './operator-worker';

const OPERATOR_QUEUE = 'operator-key-rotation';
const BUYER = 'demo-buyer';
const PRICE = '1000';
const FEE_BPS = 250;
/** What the seller is paid of PRICE at FEE_BPS. */
const SELLER_SHARE = 975n;

/**
 * Settlement judges each signature under the key that was the party's when the signature took effect:
 * a release at its log position, a payer's terms under the key settlement verified when it first
 * locked on them. A party that rotates its key afterwards is still paid or still pays what it signed;
 * a key it retired signs nothing new. Attacked as the operator, straight on Temporal.
 */
describe('a key rotated after signing strands no money, and a retired key moves none', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;

  const operator = (request: MoneyBackRequest) => operatorWorker!.moneyBack(request);
  const balances = () => ledgerBalances(test, BUYER, test.seller.id);
  const dealInput = (dealId: string): Omit<CohortQueryDealInput, 'terms' | 'buyerKeyRef'> => ({
    dealId,
    buyerId: BUYER,
    sellerId: test.seller.id,
    templateId: template.id,
    templateHash: templateHash(template),
    parameters: { min_age: 30, max_age: 50, sex: 'F' },
    price: PRICE,
    feeBps: FEE_BPS,
    compliance: RESEARCH_IN_US,
    // A one-second acceptance window: the payout needs no confirmation once it passed.
    acceptanceTimeoutMs: 1_000,
  });
  const dealTerms = (dealId: string): SignedTerms =>
    test.deployment.buyer.client.signTerms('cohort_query', {
      ...dealTermsBody({ ...dealInput(dealId), buyerKeyRef: '' }, test.deployment.buyer),
      notAfter: new Date(Date.now() + 600_000).toISOString(),
    });
  const lockInput = (escrow: string, terms: SignedTerms) => ({
    dealId: escrow,
    buyerId: BUYER,
    amount: PRICE,
    terms,
    payeeId: test.seller.id,
    feeBps: FEE_BPS,
  });

  /** Rewrites a party's registry entry; the API logs the change on the next signed request. */
  async function rotate(
    partyId: string,
    change: Partial<Party>,
    asker: TuskClient,
    purpose: 'party' | 'perimeter',
  ) {
    const path = join(test.home, 'parties.json');
    const { parties } = partiesFile.parse(JSON.parse(await readFile(path, 'utf8')));
    await addParty(path, { ...parties.find((p) => p.id === partyId)!, ...change });
    const logged = await asker.get<{ registrations: { registration: { publicKey: string } }[] }>(
      keyLogPath(partyId, purpose),
    );
    return logged.registrations.map((r) => r.registration.publicKey);
  }

  beforeAll(async () => {
    test = await startTestDeployment('keytime', async (s) => {
      template = await s.publishDemoTemplate();
    });
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    await test?.close();
  });

  it("pays a release logged before the seller rotated its perimeter key; refuses the retired key's fresh one", async () => {
    const delivered = `rotated-perimeter-${crypto.randomUUID()}`;
    const deliveredTerms = dealTerms(delivered);
    const deliveredEscrow = dealEscrowId(delivered, termsNonceOf(deliveredTerms));
    const forgedDeal = `retired-perimeter-${crypto.randomUUID()}`;
    const forgedTerms = dealTerms(forgedDeal);
    const forgedEscrow = dealEscrowId(forgedDeal, termsNonceOf(forgedTerms));
    const before = await balances();
    expect(await operator({ action: 'lockEscrow', input: lockInput(deliveredEscrow, deliveredTerms) })).toBe(
      'moved',
    );
    expect(await operator({ action: 'lockEscrow', input: lockInput(forgedEscrow, forgedTerms) })).toBe(
      'moved',
    );

    // The perimeter answers (and logs its release); nobody reports the delivery to settlement yet.
    const buyerKeyRef = await new BlobStore(join(test.home, 'blobs')).put(
      x25519KeyDocument(test.deployment.buyer.resultPublicKey),
    );
    const {
      acceptanceTimeoutMs: _window,
      price: _price,
      feeBps: _fee,
      sellerId: _seller,
      ...call
    } = dealInput(delivered);
    const release = (await operatorWorker!.execute(operatorRunQuery, [
      test.seller.id,
      { ...call, terms: deliveredTerms },
      { ...call, buyerKeyRef, terms: deliveredTerms },
    ])) as ReleaseStatement;

    // The seller rotates its perimeter key after the release was logged.
    const retired = await loadPerimeterKey(test.deployment.perimeterStateDir);
    const successor = generateEd25519KeyPair();
    expect(
      await rotate(
        test.seller.id,
        { perimeterKey: successor.publicKey },
        test.deployment.buyer.client,
        'perimeter',
      ),
    ).toEqual([retired.publicKey, successor.publicKey]);

    // The delivery reported late: judged under the key registered at the release's leaf, so paid once.
    const payout = (escrow: string, terms: SignedTerms, statement: unknown) =>
      operator({
        action: 'releaseEscrow',
        input: {
          dealId: escrow,
          sellerId: test.seller.id,
          buyerId: BUYER,
          amount: PRICE,
          feeBps: FEE_BPS,
          terms,
          release: statement,
        },
      });
    expect(
      await operator({
        action: 'recordDelivery',
        input: { dealId: deliveredEscrow, terms: deliveredTerms, release },
      }),
    ).toBe('moved');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await payout(deliveredEscrow, deliveredTerms, release)).toBe('moved');
    const paid = await balances();
    expect(paid[test.seller.id]).toBe(before[test.seller.id]! + SELLER_SHARE);
    expect(paid[BUYER]).toBe(before[BUYER]! - 2n * BigInt(PRICE));
    await payout(deliveredEscrow, deliveredTerms, release);
    expect(await balances()).toEqual(paid);

    // The retired key signs a fresh release of the other deal, and it is even logged (after the rotation).
    const forged = signReleaseStatement(
      { ...release.body, dealId: forgedDeal, termsHash: termsHashOf(forgedTerms) },
      retired,
    );
    const seller = new TuskClient(test.deployment.apiUrl, test.seller.id, test.seller.keys.privateKeyPem);
    await seller.post('/log/releases', {
      lookupKey: releaseLookupKey(forged.body),
      digest: releaseStatementDigest(forged),
    });
    expect(
      await operator({
        action: 'recordDelivery',
        input: { dealId: forgedEscrow, terms: forgedTerms, release: forged },
      }),
    ).toMatch(
      new RegExp(`^ReleaseUnsigned: .*not the seller's registered perimeter key ${successor.publicKey}`),
    );
    expect(await payout(forgedEscrow, forgedTerms, forged)).toMatch(/^ReleaseUnsigned: /);
    // Nor does a refusal the retired key signs give the buyer's money back.
    const refusal = signRefusalStatement(
      {
        type: 'tusk.refusal/v1',
        sellerId: test.seller.id,
        dealId: forgedDeal,
        termsHash: termsHashOf(forgedTerms),
        code: 'TermsMismatch',
      },
      retired,
    );
    expect(
      await operator({
        action: 'refundEscrow',
        input: { dealId: forgedEscrow, buyerId: BUYER, amount: PRICE, terms: forgedTerms, refusal },
      }),
    ).toMatch(/^RefundUnproven: /);
    expect(await balances()).toEqual(paid);
  });

  it("locks the next period of terms the buyer signed before rotating; refuses the retired key's new terms", async () => {
    const subscriptionTerms = (subscriptionId: string, client: TuskClient) =>
      client.signTerms('subscription', {
        subscriptionId,
        queries: [
          {
            templateId: template.id,
            sellerId: test.seller.id,
            templateHash: templateHash(template),
            parameters: { min_age: 30, max_age: 50, sex: 'F' },
          },
        ],
        pricePerPeriod: PRICE,
        periodSeconds: 3600,
        periods: 2,
        feeBps: FEE_BPS,
        resultKeyRef: `sha256:${'0'.repeat(64)}`,
        compliance: RESEARCH_IN_US,
      });
    const subscriptionId = `sub-rotated-${crypto.randomUUID()}`;
    const retiredClient = test.deployment.buyer.client;
    const terms = subscriptionTerms(subscriptionId, retiredClient);
    const [first, second] = [1, 2].map((n) => periodEscrowId(subscriptionId, n, termsNonceOf(terms)));
    const before = await balances();
    expect(await operator({ action: 'lockEscrow', input: lockInput(first!, terms) })).toBe('moved');

    // The buyer rotates its key between the periods.
    const successor = generateEd25519KeyPair();
    const renewed = new TuskClient(test.deployment.apiUrl, BUYER, successor.privateKeyPem);
    expect(await rotate(BUYER, { publicKey: successor.publicKey }, renewed, 'party')).toEqual([
      retiredClient.publicKey,
      successor.publicKey,
    ]);

    // The second period locks under the key settlement verified at the first: what the buyer signed.
    expect(await operator({ action: 'lockEscrow', input: lockInput(second!, terms) })).toBe('moved');
    const locked = await balances();
    expect(locked[BUYER]).toBe(before[BUYER]! - 2n * BigInt(PRICE));

    // The retired key signs a new subscription after the rotation: nothing is locked.
    const forgedId = `sub-retired-${crypto.randomUUID()}`;
    const forged = subscriptionTerms(forgedId, retiredClient);
    expect(
      await operator({
        action: 'lockEscrow',
        input: lockInput(periodEscrowId(forgedId, 1, termsNonceOf(forged)), forged),
      }),
    ).toMatch(/^PayerNotSigned: .*not demo-buyer's registered key/);
    expect(await balances()).toEqual(locked);
  });
});
