import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SqliteDatabase } from '../../lib/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDealResult } from '../../cli/buyer/commands';
import { readPrivacyEntries, type PrivacyEntry } from '../../audit/privacy-entries';
import { BlobStore } from '../../lib/blob-store';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms, x25519KeyDocument } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import { cohortQueryDeal } from '../../workflows/deal/workflow';
import type { DealStatus } from '../../workflows/deal/state';
import { milestoneGrant } from '../../workflows/grant/workflow';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import {
  budgetOf,
  buyDeal,
  dealTermsBody,
  RESEARCH_IN_US,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { LIFECYCLE_PARTIES, party, terminateRunning, waitFor } from './lifecycle-harness';
import { slowTemplate } from './slow-template';
import { submitGrantEvidence } from '../../lib/signed-actions';

const COHORT = { min_age: 30, max_age: 50, sex: 'F' };
/** Both datasets hold the same people; each answer costs ε = 2, one buyer may spend 3 in all. */
const SHARED = { total: { epsilon: 100, delta: 1e-5 }, perBuyer: { epsilon: 3, delta: 1e-6 } };
const BUYERS = ['buyer-b', 'buyer-c', 'buyer-d', 'buyer-e'];

/** The same 100,000 synthetic visits under a table of the given name (the dataset's name). */
async function createDataset(path: string, table: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE ${table} AS
      SELECT i AS person_id, 20 + (i % 60) AS age, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
             CAST(100 + i % 50 AS VARCHAR) AS zip3, CASE WHEN i % 3 = 0 THEN 'I10' ELSE 'E11' END AS diagnosis_code,
             (100 + i % 900)::DECIMAL(10, 2) AS cost, DATE '2025-01-01' AS visit_date
      FROM range(1, 100001) t(i)`);
    await connection.run('CHECKPOINT');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The perimeter's privacy ledger attacked as the operator: workflows started straight on Temporal
 * under a victim's ids, a grant re-run, datasets of the same people, and a query that fails after
 * its reservation. What is charged is read from the seller's own ledger file, as an audit reads it.
 */
describe("the perimeter's privacy ledger, bound to the signed terms", () => {
  let test: TestDeployment;
  let cohort: QueryTemplate;
  let copy: QueryTemplate;
  let slow: QueryTemplate;
  const running: string[] = [];

  beforeAll(async () => {
    const dir = process.env.TMPDIR ?? '/tmp';
    const patients = join(dir, `tusk-ledger-patients-${process.pid}-${Date.now()}.duckdb`);
    const patientsCopy = join(dir, `tusk-ledger-copy-${process.pid}-${Date.now()}.duckdb`);
    await createDataset(patients, 'patients');
    await createDataset(patientsCopy, 'patients_copy');
    test = await startTestDeployment(
      'ledger',
      async (seller) => {
        // A milestone run costs ε 1.5: a grant re-signed under a new nonce fits the sponsor's ε 3 once more.
        cohort = await seller.publishDemoTemplate({ milestones: { epsilon: 1.5, maxChecks: 2 } });
        copy = await seller.publish({
          ...cohort,
          id: 'cohort-copy',
          dataset: 'patients_copy',
          sql: cohort.sql.replace('FROM patients', 'FROM patients_copy'),
          milestones: undefined,
        });
        slow = await seller.publish(slowTemplate(cohort));
        await seller.publishDatasetPolicy({
          patients: { ...SHARED, budgetGroup: 'clinic_people' },
          patients_copy: { ...SHARED, budgetGroup: 'clinic_people' },
        });
      },
      {
        datasetPath: patients,
        env: { TUSK_DATASETS: `patients=${patients},patients_copy=${patientsCopy}` },
        queryTimeoutMs: 2500,
        parties: [
          ...LIFECYCLE_PARTIES,
          ...BUYERS.map((id) => ({ id, role: 'buyer' as const, funds: 10_000n })),
        ],
      },
    );
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, running);
    await test?.close();
  });

  const ledgerEntries = async (ids: string[]): Promise<PrivacyEntry[]> =>
    (
      await readPrivacyEntries(
        join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite'),
        test.seller.directory,
        ids,
      )
    ).entries;
  /** Every entry of the ledger, as the seller reads it (the audit's reader, over a copy of the file). */
  const allEntries = async () => {
    const file = join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite');
    const copyDir = await mkdtemp(join(tmpdir(), 'tusk-ledger-read-'));
    await copyFile(file, join(copyDir, 'l.sqlite'));
    await copyFile(`${file}-wal`, join(copyDir, 'l.sqlite-wal')).catch(() => undefined);
    const db = SqliteDatabase.open(join(copyDir, 'l.sqlite'), { mustExist: true });
    try {
      return db
        .prepare(
          'SELECT deal_id, nonce, buyer_id, dataset, micro_epsilon, state, at, reserved_at FROM reservations',
        )
        .all() as {
        deal_id: string;
        nonce: string;
        buyer_id: string;
        dataset: string;
        micro_epsilon: number;
        state: string;
        at: number;
        reserved_at: number;
      }[];
    } finally {
      db.close();
    }
  };

  /** Starts a deal workflow as the operator can: any workflow id, any deal id, any signed terms. */
  async function startAsOperator(options: {
    dealId: string;
    buyer: PartyIdentity;
    parameters: Record<string, string | number>;
    signingKeyPem?: string;
  }): Promise<DealStatus> {
    const blobs = new BlobStore(join(test.home, 'blobs'));
    const buyerKeyRef = await blobs.put(x25519KeyDocument(options.buyer.resultPublicKey));
    const deal = {
      dealId: options.dealId,
      buyerId: options.buyer.id,
      sellerId: test.seller.id,
      templateId: cohort.id,
      templateHash: templateHash(cohort),
      parameters: options.parameters,
      price: '1000',
      feeBps: 250,
      buyerKeyRef,
      compliance: RESEARCH_IN_US,
      acceptanceTimeoutMs: 60_000,
    };
    const body = dealTermsBody(deal, options.buyer);
    const terms = options.signingKeyPem
      ? signTerms('cohort_query', options.buyer.id, body, options.signingKeyPem)
      : options.buyer.client.signTerms('cohort_query', body);
    const workflowId = `operator-${crypto.randomUUID()}`;
    running.push(workflowId);
    return test.temporal.workflow.execute(cohortQueryDeal, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId,
      args: [{ ...deal, terms }],
    });
  }

  it("refuses another key's terms under a victim's deal id: the victim's answer is not returned, its budget unchanged", async () => {
    const victim = test.deployment.buyer;
    const bought = await buyDeal(test.deployment, cohort.id, COHORT);
    running.push(bought.dealId);
    expect((await bought.delivered()).stage).toBe('delivered');
    const before = await budgetOf(victim.client, test.seller.id);
    expect(before.buyer!.spent.epsilon).toBe(2);
    const entriesBefore = await allEntries();

    const attacker = party(test, 'buyer-b');
    const attempts = [
      // A registered buyer's own key, the victim's deal id: the stored answer would be free for it.
      { dealId: bought.dealId, buyer: attacker, parameters: COHORT },
      // Another query under the victim's id: its fresh answer would be charged to the victim's row.
      { dealId: bought.dealId, buyer: attacker, parameters: { ...COHORT, min_age: 31 } },
      // A fresh key nobody registered, naming the victim as buyer.
      {
        dealId: bought.dealId,
        buyer: { ...victim, id: victim.id },
        parameters: COHORT,
        signingKeyPem: generateEd25519KeyPair().privateKeyPem,
      },
    ];
    // The registered attacker's terms conflict with the victim's row; the fresh key is not the
    // victim's registered key at all, and is refused before the ledger is read.
    const refusals = ['TermsConflict', 'TermsConflict', 'SignerNotRegistered'];
    for (const [i, attempt] of attempts.entries()) {
      const status = await startAsOperator(attempt);
      expect(status).toMatchObject({ stage: 'failed', problem: { code: refusals[i] } });
      expect(status.result).toBeUndefined();
      expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
    }
    const after = await budgetOf(victim.client, test.seller.id);
    expect(after.buyer).toEqual(before.buyer);
    expect(after.total).toEqual(before.total);
    expect((await budgetOf(attacker.client, test.seller.id)).buyer!.spent.epsilon).toBe(0);
    expect(await allEntries()).toEqual(entriesBefore);
  });

  it('charges datasets that hold the same people to one budget, per buyer', async () => {
    const buyer = party(test, 'buyer-c');
    const first = await buyDeal(test.deployment, cohort.id, COHORT, undefined, buyer);
    running.push(first.dealId);
    expect((await first.delivered()).stage).toBe('delivered');
    const second = await buyDeal(test.deployment, copy.id, COHORT, undefined, buyer);
    running.push(second.dealId);
    const refused = await second.delivered();
    expect(refused.problem?.code).toBe('BudgetExhausted');
    expect(refused.problem?.reason).toMatch(
      /^privacy budget exhausted for buyer .* on budget group clinic_people \(datasets patients, patients_copy\): spent ε=2 of ε=3 .* over its lifetime; this answer costs ε=2$/,
    );
    const view = await budgetOf(buyer.client, test.seller.id, 'patients_copy');
    expect(view).toMatchObject({
      sharedWith: ['patients', 'patients_copy'],
      buyer: { spent: { epsilon: 2 } },
    });
    expect(view.windowDays).toBeUndefined();
  });

  it('identical queries in flight reserve once: the second waits for the first answer, free', async () => {
    const buyer = party(test, 'buyer-e');
    // One buyer may spend 3 and an answer costs 2: reserving twice would refuse one of them.
    const deals = await Promise.all(
      [0, 1].map(() => buyDeal(test.deployment, cohort.id, COHORT, undefined, buyer)),
    );
    running.push(...deals.map((d) => d.dealId));
    const statuses = await Promise.all(deals.map((d) => d.delivered()));
    for (const status of statuses) expect(status.stage).toBe('delivered');
    const results = statuses.map((s) => s.result!);
    expect(results.map((r) => r.epsilonSpent).sort()).toEqual([0, 2]);
    // The same noisy answer, not two draws.
    const [first, second] = await Promise.all(
      deals.map((d) => openDealResult(buyer.client, buyer.resultKeyPem, d.dealId)),
    );
    expect(second!.rows).toEqual(first!.rows);
    expect((await budgetOf(buyer.client, test.seller.id)).buyer!.spent.epsilon).toBe(2);
  });

  it('charges a query that fails after its reservation in full, dated when it was charged', async () => {
    const buyer = party(test, 'buyer-d');
    const balance = await test.deployment.ledger.balanceOf(buyer.id);
    const deal = await buyDeal(test.deployment, slow.id, { repeat: 3000, min_age: 0 }, undefined, buyer);
    running.push(deal.dealId);
    const status = await deal.delivered();
    // The money goes back; the privacy cost does not: the failure may depend on the data.
    expect(status.stage).toBe('refunded');
    expect(status.problem).toBeDefined();
    expect(await test.deployment.ledger.balanceOf(buyer.id)).toBe(balance);
    expect((await budgetOf(buyer.client, test.seller.id)).buyer!.spent.epsilon).toBe(2);
    const entry = (await allEntries()).find((e) => e.deal_id === deal.dealId)!;
    expect(entry).toMatchObject({ state: 'committed', micro_epsilon: 2_000_000 });
    // Dated at the charge (after the query ran out of time), not at the reservation.
    const queryStarted = status.timeline.find((t) => t.stage === 'query_running')!.at;
    expect(entry.at).toBeGreaterThanOrEqual(queryStarted);
    expect(entry.at - entry.reserved_at).toBeGreaterThanOrEqual(2000);
    // What an audit reads agrees.
    expect((await ledgerEntries([deal.dealId])).find((e) => e.dealId === deal.dealId)).toMatchObject({
      state: 'committed',
      at: entry.at,
    });
  });

  it('a grant id re-signed under a new nonce runs afresh and is charged anew; other terms under that nonce are refused', async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantId = `grant-${crypto.randomUUID()}`;
    running.push(grantWorkflowId(grantId));
    const check = {
      kind: 'query' as const,
      templateId: cohort.id,
      templateHash: templateHash(cohort),
      parameters: COHORT,
      metric: 'patients',
      threshold: 1e9,
    };
    const milestone = { milestoneId: 'enrolled', name: 'enrolled', amount: '100' };
    const deadline = Date.now() + 600_000;
    const created = await sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', {
        grantId,
        granteeId: lab.id,
        milestones: [{ ...milestone, deadline: new Date(deadline).toISOString(), check }],
      }),
    );
    expect(created.status).toBe(201);
    const status = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
    await waitFor(status, (s) => s.stage === 'active');
    await submitGrantEvidence(lab.client, grantId, 'enrolled', 'first');
    const checked = await waitFor(status, (s) => s.milestones[0]!.lastCheck !== undefined);
    expect(checked.milestones[0]!.lastCheck).toMatchObject({ met: false });
    const charge = `milestone:${grantId}/enrolled`;
    const charged = (await allEntries()).filter((e) => e.deal_id === charge);
    expect(charged).toMatchObject([{ state: 'committed', micro_epsilon: 1_500_000 }]);

    // The operator ends the run and starts the grant id again: the sponsor's re-signed terms (a new
    // deadline), then terms under a key of its own naming the sponsor.
    const restart = async (terms: ReturnType<typeof sponsor.client.signTerms>, later: number) => {
      await test.temporal.workflow.getHandle(grantWorkflowId(grantId)).terminate('re-run');
      await test.temporal.workflow.start(milestoneGrant, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: grantWorkflowId(grantId),
        args: [
          {
            grantId,
            sponsorId: sponsor.id,
            granteeId: lab.id,
            feeBps: 250,
            milestones: [{ ...milestone, deadline: later, check: { ...check, sellerId: test.seller.id } }],
            terms,
          },
        ],
      });
    };
    const rerun = async (terms: ReturnType<typeof sponsor.client.signTerms>, later: number) => {
      await restart(terms, later);
      await waitFor(status, (s) => s.stage === 'active' && s.milestones[0]!.lastCheck === undefined);
      await submitGrantEvidence(lab.client, grantId, 'enrolled', 're-run');
      return waitFor(status, (s) => s.milestones[0]!.lastCheck !== undefined);
    };
    const later = deadline + 60_000;
    const body = {
      grantId,
      granteeId: lab.id,
      milestones: [{ ...milestone, deadline: new Date(later).toISOString(), check }],
    };
    // Re-signed by the sponsor under a new nonce: a new run of its own, on a fresh threshold, charged anew.
    const resigned = sponsor.client.signTerms('grant', body);
    const again = await rerun(resigned, later);
    expect(again.milestones[0]!.lastCheck).toMatchObject({ met: false });
    expect(again.milestones[0]!.lastCheck!.problem).toBeUndefined();
    const recharged = (await allEntries()).filter((e) => e.deal_id === charge);
    expect(recharged).toHaveLength(2);
    expect(recharged).toContainEqual(charged[0]);
    expect(recharged).toContainEqual({
      ...charged[0],
      nonce: resigned.body.nonce,
      at: expect.any(Number),
      reserved_at: expect.any(Number),
    });
    // Other terms (another deadline) under that same nonce: the same escrow, but the perimeter refuses them.
    const moved = later + 60_000;
    const sameNonce = sponsor.client.signTerms('grant', {
      ...body,
      nonce: resigned.body.nonce,
      milestones: [{ ...milestone, deadline: new Date(moved).toISOString(), check }],
    });
    const conflicting = await rerun(sameNonce, moved);
    expect(conflicting.milestones[0]!.lastCheck).toMatchObject({ met: false, problem: 'TermsConflict' });
    expect((await allEntries()).filter((e) => e.deal_id === charge)).toEqual(recharged);
    // Terms under a key nobody registered for the sponsor: settlement will not lock its money, so the
    // grant never becomes active and no check runs.
    await restart(signTerms('grant', sponsor.id, body, generateEd25519KeyPair().privateKeyPem), later);
    const forged = await waitFor(status, (s) => s.stage === 'failed');
    expect(forged.milestones[0]!.lastCheck).toBeUndefined();
    expect((await allEntries()).filter((e) => e.deal_id === charge)).toEqual(recharged);
  });
});
