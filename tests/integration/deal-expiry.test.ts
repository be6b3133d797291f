import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../lib/blob-store';
import { dealEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { loadPerimeterKey } from '../../lib/perimeter-key';
import {
  refusalStatement,
  refusalStatementProblems,
  type RefusalStatement,
} from '../../lib/refusal-statement';
import { termsHashOf, x25519KeyDocument, type SignedTerms } from '../../lib/signed-terms';
import { EXPIRY_CLOCK_MARGIN_MS } from '../../lib/terms-expiry';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { EXPIRY_WAIT_NOTE } from '../../workflows/deal/shapes';
import type { CohortQueryDealInput, DealStatus } from '../../workflows/deal/state';
import { cohortQueryDeal, dealStatusQuery } from '../../workflows/deal/workflow';
import { operatorConfirmExpiry } from '../fixtures/operator-refund-workflow';
import { decodeHistoryJson } from '../support/history-codec';
import { dealTermsBody, RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import { startOperatorWorker, type OperatorWorker } from './operator-worker';
import { slowTemplate } from './slow-template';

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const BUYER = 'demo-buyer';
const PRICE = '1000';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * A deal whose seller never answered comes back to the buyer by itself once the buyer's signed
 * notAfter has passed: the workflow's timer asks the seller's perimeter to sign that it never released
 * an answer, keeps asking while the perimeter is down (the deal says so, not as an error), and refunds
 * on that signed refusal. A delivered deal is never refunded by the timer, and the perimeter signs no
 * expiry for a deal it answered, whoever asks.
 */
describe("a deal's expiry at the buyer's notAfter", () => {
  let test: TestDeployment;
  let slow: QueryTemplate;
  let demo: QueryTemplate;
  let operator: OperatorWorker;

  beforeAll(async () => {
    test = await startTestDeployment('expiry', async (seller) => {
      demo = await seller.publishDemoTemplate();
      slow = await seller.publish(slowTemplate(demo));
    });
    operator = await startOperatorWorker(test, 'operator-expiry');
  });
  afterAll(async () => {
    await operator?.close();
    await test?.close();
  });

  /** Starts the deal straight on Temporal with the buyer's genuine terms, expiring at `notAfter`. */
  async function startDeal(
    template: QueryTemplate,
    parameters: Record<string, number | string>,
    notAfter: number,
  ) {
    const { buyer } = test.deployment;
    const dealId = `expiry-${crypto.randomUUID()}`;
    const deal: Omit<CohortQueryDealInput, 'terms'> = {
      dealId,
      buyerId: BUYER,
      sellerId: test.seller.id,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters,
      price: PRICE,
      feeBps: 250,
      buyerKeyRef: await new BlobStore(join(test.home, 'blobs')).put(
        x25519KeyDocument(buyer.resultPublicKey),
      ),
      compliance: RESEARCH_IN_US,
      acceptanceTimeoutMs: 30_000,
    };
    const terms: SignedTerms = buyer.client.signTerms('cohort_query', {
      ...dealTermsBody(deal, buyer),
      notAfter: new Date(notAfter).toISOString(),
    });
    const handle = await test.temporal.workflow.start(cohortQueryDeal, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: dealId,
      args: [{ ...deal, terms }],
    });
    return { dealId, terms, handle };
  }

  const statusOf = (dealId: string): Promise<DealStatus> =>
    test.temporal.workflow.getHandle(dealId).query(dealStatusQuery);

  async function waitFor(dealId: string, done: (status: DealStatus) => boolean, timeout = 90_000) {
    await expect.poll(async () => done(await statusOf(dealId)), { timeout, interval: 250 }).toBe(true);
    return statusOf(dealId);
  }

  /** The ledger's own entries of one kind for one escrow: what a user would count. */
  async function ledgerEntries(kind: string, escrow: string): Promise<unknown[]> {
    const text = await readFile(test.deployment.ledger.path, 'utf8');
    return text
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { kind: string; dealId?: string })
      .filter((entry) => entry.kind === kind && entry.dealId === escrow);
  }

  /** Activities of this type a deal's history scheduled. */
  async function scheduled(dealId: string, type: string): Promise<number> {
    const events = (await test.temporal.workflow.getHandle(dealId).fetchHistory()).events ?? [];
    return events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
  }

  /** The refusal statements carried in a deal's (decoded) history. */
  async function refusalsInHistory(dealId: string): Promise<RefusalStatement[]> {
    const history = await test.temporal.workflow.getHandle(dealId).fetchHistory();
    const decoded = JSON.stringify(await decodeHistoryJson(history, test.codec));
    const texts = [...decoded.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString('utf8'),
    );
    const found: RefusalStatement[] = [];
    // A statement may be a payload of its own (a failure's details) or inside one (an activity's input).
    const walk = (value: unknown): void => {
      const parsed = refusalStatement.safeParse(value);
      if (parsed.success) found.push(parsed.data);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    for (const text of texts) {
      try {
        walk(JSON.parse(text));
      } catch {
        // Not JSON: not a statement.
      }
    }
    return found;
  }

  it("a deal whose perimeter went down mid-query waits for it past notAfter, then is refunded once on its signed 'Expired'", async () => {
    const before = await test.deployment.ledger.balanceOf(BUYER);
    const notAfter = Date.now() + 20_000;
    const { dealId, terms } = await startDeal(slow, { repeat: 3000, min_age: 0 }, notAfter);
    const escrow = dealEscrowId(dealId, termsNonceOf(terms));
    const handle = test.temporal.workflow.getHandle(dealId);
    await expect
      .poll(
        async () =>
          ((await handle.describe()).raw.pendingActivities ?? []).some(
            (a) => a.activityType?.name === 'runApprovedQuery' && a.state === STARTED,
          ),
        { timeout: 30_000, interval: 50 },
      )
      .toBe(true);
    await test.deployment.services.get('perimeter worker')!.kill();

    // Past notAfter (+ the margin) the buyer reads that the deal waits for the seller's perimeter: no
    // error, the payment still held, nothing refunded without the perimeter's word.
    const waiting = await waitFor(dealId, (s) => s.stage === 'awaiting_expiry');
    expect(Date.now()).toBeGreaterThanOrEqual(notAfter + EXPIRY_CLOCK_MARGIN_MS);
    expect(waiting.problem).toBeUndefined();
    expect(waiting.expiry).toMatchObject({ note: EXPIRY_WAIT_NOTE, notAfter, pending: 1 });
    expect(await test.deployment.ledger.balanceOf(BUYER)).toBe(before - BigInt(PRICE));
    await sleep(3_000);
    expect((await statusOf(dealId)).stage).toBe('awaiting_expiry');
    expect(await ledgerEntries('refund', escrow)).toEqual([]);

    await test.deployment.restart('perimeter worker');
    const ended = await handle.result();
    expect(ended.stage).toBe('refunded');
    expect(ended.problem?.code).toBe('TermsExpired');
    expect(ended.result).toBeUndefined();
    expect(ended.expiry?.pending).toBe(0);
    expect(await test.deployment.ledger.balanceOf(BUYER)).toBe(before);
    expect(await ledgerEntries('refund', escrow)).toHaveLength(1);
    expect(await scheduled(dealId, 'refundEscrow')).toBe(1);

    // The refund went through the perimeter's own signed refusal of these very terms.
    const perimeterKey = (await loadPerimeterKey(test.deployment.perimeterStateDir)).publicKey;
    const refusals = await refusalsInHistory(dealId);
    expect(refusals.length).toBeGreaterThan(0);
    for (const refusal of refusals) {
      expect(
        refusalStatementProblems(refusal, {
          perimeterKey,
          sellerId: test.seller.id,
          dealId,
          termsHash: termsHashOf(terms),
        }),
      ).toEqual([]);
    }
    expect(refusals.map((r) => r.body.code)).toContain('Expired');
    // Refunded once: asking the perimeter again gets the same refusal, and nothing moves twice.
    expect(await operator.execute(operatorConfirmExpiry, [test.seller.id, { dealId, terms }])).toMatchObject({
      refusal: { body: { dealId, code: 'Expired' } },
    });
    expect(await ledgerEntries('refund', escrow)).toHaveLength(1);
  });

  it('a delivered deal is never refunded by the timer, and the perimeter signs no expiry for it, whoever asks', async () => {
    const notAfter = Date.now() + 15_000;
    const { dealId, terms, handle } = await startDeal(demo, { min_age: 30, max_age: 50, sex: 'F' }, notAfter);
    const escrow = dealEscrowId(dealId, termsNonceOf(terms));
    const ask = () => operator.execute(operatorConfirmExpiry, [test.seller.id, { dealId, terms }]);
    const delivered = await waitFor(dealId, (s) => s.stage === 'delivered' || s.problem !== undefined);
    expect(delivered.stage).toBe('delivered');
    // The operator asks before notAfter: not yet expired, nothing signed.
    expect(await ask()).toMatch(/^NotExpiredYet: /);

    await sleep(notAfter + EXPIRY_CLOCK_MARGIN_MS + 2_000 - Date.now());
    const past = await statusOf(dealId);
    expect(past.stage).toBe('delivered');
    expect(past.expiry).toBeUndefined();
    // After notAfter the perimeter says it released an answer, and signs no refusal.
    expect(await ask()).toEqual({ released: true });

    const ended = await handle.result();
    expect(ended.stage).toBe('settled');
    expect(await ledgerEntries('refund', escrow)).toEqual([]);
    expect(await ledgerEntries('release', escrow)).toHaveLength(1);
    expect(await scheduled(dealId, 'confirmExpiry')).toBe(0);
    expect(await scheduled(dealId, 'refundEscrow')).toBe(0);
  });
});
