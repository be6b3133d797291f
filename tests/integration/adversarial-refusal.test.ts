import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_PROOFS_FILE, type KeptReleaseProof } from '../../activities/perimeter/release-logging';
import { BlobStore } from '../../lib/blob-store';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { releaseStatementProblems } from '../../lib/release-statement';
import { x25519KeyDocument } from '../../lib/signed-terms';
import { releaseEntry, releaseLookupKey, releaseStatementDigest } from '../../lib/transparency/release-entry';
import { checkInclusion, entryLeafHash } from '../../lib/transparency/tree-head';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { dealEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { loadPerimeterKey } from '../../lib/perimeter-key';
import {
  refusalStatement,
  refusalStatementProblems,
  signRefusalStatement,
  type RefusalStatement,
} from '../../lib/refusal-statement';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { EXPIRY_CLOCK_MARGIN_MS } from '../../activities/settlement/refund-proof';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { CohortQueryDealInput } from '../../workflows/deal/state';
import { decodeHistoryJson } from '../support/history-codec';
import { operatorRunQuery, type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import {
  dealTermsBody,
  RESEARCH_IN_US,
  startDealWorkflow,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { startOperatorWorker, type OperatorWorker } from './operator-worker';

const OPERATOR_QUEUE = 'operator-money-back';
const BUYER = 'demo-buyer';
const PRICE = '1000';

/**
 * The operator runs Temporal and every workflow worker: it can lock a buyer's genuinely signed deal
 * itself, never tell settlement the seller's perimeter released the answer, and ask for the money
 * back. Settlement refunds an escrow it has no delivery record for only on the perimeter's signed
 * refusal of that very deal and those terms, or once the buyer's signed notAfter has passed.
 */
describe('refunds of deals settlement never saw delivered, asked for on Temporal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;
  /** A genuine refusal the perimeter signed for another deal (the second test's). */
  let otherDealsRefusal: RefusalStatement | undefined;

  const balance = () => test.deployment.ledger.balanceOf(BUYER);
  const operator = (request: MoneyBackRequest) => operatorWorker!.moneyBack(request);
  const dealInput = (dealId: string): Omit<CohortQueryDealInput, 'terms' | 'buyerKeyRef'> => ({
    dealId,
    buyerId: BUYER,
    sellerId: test.seller.id,
    templateId: template.id,
    templateHash: templateHash(template),
    parameters: { min_age: 30, max_age: 50, sex: 'F' },
    price: PRICE,
    feeBps: 250,
    compliance: RESEARCH_IN_US,
    acceptanceTimeoutMs: 60_000,
  });
  /** The buyer's own signature over the deal, expiring at `notAfter`. */
  const buyerSigned = (dealId: string, notAfter: number): SignedTerms =>
    test.deployment.buyer.client.signTerms('cohort_query', {
      ...dealTermsBody({ ...dealInput(dealId), buyerKeyRef: '' }, test.deployment.buyer),
      notAfter: new Date(notAfter).toISOString(),
    });

  /** Waits until the buyer's signed notAfter has passed on settlement's clock (with its margin). */
  const pastNotAfter = (notAfter: number) =>
    new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, notAfter + EXPIRY_CLOCK_MARGIN_MS + 1_000 - Date.now())),
    );

  /** The refusal statements the perimeter's failed activities carry in a workflow's history. */
  async function refusalsInHistory(workflowId: string): Promise<RefusalStatement[]> {
    const history = await test.temporal.workflow.getHandle(workflowId).fetchHistory();
    const decoded = JSON.stringify(await decodeHistoryJson(history, test.codec));
    const payloads = [...decoded.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString('utf8'),
    );
    return payloads.flatMap((text) => {
      try {
        const parsed = refusalStatement.safeParse(JSON.parse(text));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  beforeAll(async () => {
    test = await startTestDeployment('refusal', async (s) => {
      template = await s.publishDemoTemplate();
    });
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    await test?.close();
  });

  it("a query the perimeter refuses is refunded on its signed refusal, which names the deal and the buyer's terms", async () => {
    const before = await balance();
    const dealId = `refused-${crypto.randomUUID()}`;
    const terms = buyerSigned(dealId, Date.now() + 600_000);
    // The operator hands the perimeter another result key than the buyer signed: refused at the query,
    // after the budget was reserved and the payment locked.
    const handle = await startDealWorkflow(test, {
      ...dealInput(dealId),
      terms,
      buyerKeyRef: `sha256:${'0'.repeat(64)}`,
    });
    const status = await handle.result();
    expect(status.stage).toBe('refunded');
    expect(status.problem?.code).toBe('TermsMismatch');
    expect(status.result).toBeUndefined();
    expect(await balance()).toBe(before);

    const [refusal, ...more] = await refusalsInHistory(dealId);
    expect(more).toEqual([]);
    const perimeterKey = (await loadPerimeterKey(test.deployment.perimeterStateDir)).publicKey;
    expect(
      refusalStatementProblems(refusal, {
        perimeterKey,
        sellerId: test.seller.id,
        dealId,
        termsHash: termsHashOf(terms),
      }),
    ).toEqual([]);
    expect(refusal!.body.code).toBe('TermsMismatch');
    otherDealsRefusal = refusal;
  });

  it('an escrow the operator locked and never reported delivered: no refund without a genuine refusal, until notAfter', async () => {
    expect(otherDealsRefusal).toBeDefined();
    const dealId = `undelivered-${crypto.randomUUID()}`;
    const notAfter = Date.now() + 20_000;
    const terms = buyerSigned(dealId, notAfter);
    const escrow = dealEscrowId(dealId, termsNonceOf(terms));
    const before = await balance();
    expect(
      await operator({
        action: 'lockEscrow',
        input: { dealId: escrow, buyerId: BUYER, amount: PRICE, terms, payeeId: test.seller.id, feeBps: 250 },
      }),
    ).toBe('moved');
    const locked = await balance();
    expect(locked).toBe(before - BigInt(PRICE));

    const refund = { dealId: escrow, buyerId: BUYER, amount: PRICE, terms };
    const refundWith = (refusal?: unknown) =>
      operator({ action: 'refundEscrow', input: refusal === undefined ? refund : { ...refund, refusal } });
    expect(await refundWith()).toMatch(/^RefundUnproven: settlement has no record of .* delivery/);

    const body = { ...otherDealsRefusal!.body, dealId, termsHash: termsHashOf(terms) };
    // Signed by a key that is not the seller's perimeter's.
    expect(await refundWith(signRefusalStatement(body, generateEd25519KeyPair()))).toMatch(
      /^RefundUnproven: .*not .*registered perimeter key/,
    );
    // The perimeter's genuine refusal of another deal, and of the same deal id under other terms.
    expect(await refundWith(otherDealsRefusal)).toMatch(/^RefundUnproven: .*refuses deal refused-/);
    // That genuine refusal re-addressed to this deal and these terms.
    const readdressed = { ...otherDealsRefusal!, body };
    expect(await refundWith(readdressed)).toMatch(/^RefundUnproven: .*signature does not verify/);
    expect(await balance()).toBe(locked);

    // Once the buyer's signed notAfter has passed on settlement's clock, the perimeter answers nothing
    // fresh for it: the escrow goes back to the buyer.
    await pastNotAfter(notAfter);
    expect(await refundWith()).toBe('moved');
    expect(await balance()).toBe(before);
  });

  it('a deal the perimeter answered and the operator never reported: no refund past notAfter, the log holds the release', async () => {
    const dealId = `withheld-${crypto.randomUUID()}`;
    const notAfter = Date.now() + 45_000;
    const terms = buyerSigned(dealId, notAfter);
    const escrow = dealEscrowId(dealId, termsNonceOf(terms));
    const before = await balance();
    expect(
      await operator({
        action: 'lockEscrow',
        input: { dealId: escrow, buyerId: BUYER, amount: PRICE, terms, payeeId: test.seller.id, feeBps: 250 },
      }),
    ).toBe('moved');
    const locked = await balance();
    expect(locked).toBe(before - BigInt(PRICE));

    // The operator has the perimeter answer the buyer's genuine terms, and keeps the delivery to itself.
    const buyerKeyRef = await new BlobStore(join(test.home, 'blobs')).put(
      x25519KeyDocument(test.deployment.buyer.resultPublicKey),
    );
    const {
      acceptanceTimeoutMs: _window,
      price: _price,
      feeBps: _fee,
      sellerId: _seller,
      ...call
    } = dealInput(dealId);
    const release = await operatorWorker!.execute(operatorRunQuery, [
      test.seller.id,
      { ...call, terms },
      { ...call, buyerKeyRef, terms },
    ]);
    const perimeterKey = (await loadPerimeterKey(test.deployment.perimeterStateDir)).publicKey;
    expect(
      releaseStatementProblems(release, {
        perimeterKey,
        dealId,
        commitment: (release as { body: { commitment: string } }).body.commitment,
        termsHash: termsHashOf(terms),
      }),
    ).toEqual([]);

    // The perimeter kept the log's signed head and proof of its entry: a log that lacks it later is a fork.
    const lookupKey = releaseLookupKey({ sellerId: test.seller.id, dealId, termsHash: termsHashOf(terms) });
    const kept = (await readFile(join(test.deployment.perimeterStateDir, RELEASE_PROOFS_FILE), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as KeptReleaseProof)
      .filter((record) => record.lookupKey === lookupKey);
    expect(kept.map((record) => record.digest)).toEqual([releaseStatementDigest(release)]);
    const entry = releaseEntry(lookupKey, kept[0]!.digest);
    const operatorKey = (await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem')))
      .publicKey;
    const { leafIndex, path } = kept[0]!.proof;
    const { treeHead } = kept[0]!;
    expect(
      checkInclusion(
        entry,
        {
          leafIndex,
          path,
          treeHead,
          treeSize: treeHead.body.treeSize,
          leafHash: entryLeafHash(entry).toString('hex'),
        },
        operatorKey,
      ),
    ).toEqual({ ok: true });

    const refund = { dealId: escrow, buyerId: BUYER, amount: PRICE, terms };
    expect(await operator({ action: 'refundEscrow', input: refund })).toMatch(
      /^RefundUnproven: settlement has no record of .* delivery/,
    );
    await pastNotAfter(notAfter);
    expect(await operator({ action: 'refundEscrow', input: refund })).toMatch(
      new RegExp(`^RefundUnproven: the transparency log holds ${test.seller.id}'s release of ${escrow}`),
    );
    expect(await balance()).toBe(locked);
  });
});
