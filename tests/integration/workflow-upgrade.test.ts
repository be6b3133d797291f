import { join } from 'node:path';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { TuskApiError } from '../../lib/tusk-client';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { GrantStatus } from '../../workflows/grant/state';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { grantWorkflowId, subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party, terminateRunning, waitFor } from './lifecycle-harness';
import { cancelSubscription, submitGrantEvidence } from '../../lib/signed-actions';
import { testWorkflowBundle } from '../support/workflow-bundle';

const V2_PATCHED = join(__dirname, '../fixtures/upgrade/v2-patched.ts');
const V2_UNPATCHED = join(__dirname, '../fixtures/upgrade/v2-unpatched.ts');
const COHORT = { min_age: 30, max_age: 50, sex: 'F' };

/**
 * UPGRADING.md's procedure, played out: a subscription and a grant start on version 1; version 2
 * adds a step before their first one. Unguarded, it cannot replay their histories; guarded by
 * `patched()`, it replays them, the workers switch over, and both runs finish on version 2.
 */
describe('upgrading long-lived workflows with runs in flight', () => {
  let test: TestDeployment;
  let buyer: PartyIdentity;
  let sponsor: PartyIdentity;
  let lab: PartyIdentity;
  const subscriptionId = `sub-upgrade-${crypto.randomUUID().slice(0, 8)}`;
  const grantId = `grant-upgrade-${crypto.randomUUID().slice(0, 8)}`;
  const newGrantId = `grant-v2-${crypto.randomUUID().slice(0, 8)}`;

  const templateOf = async (as: PartyIdentity) =>
    (await as.client.get<{ templates: { id: string; seller: string; hash: string }[] }>('/templates'))
      .templates[0]!;
  const openGrant = async (id: string) => {
    const template = await templateOf(sponsor);
    return sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', {
        grantId: id,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'enrolled',
            name: '≥ 1,000 participants enrolled',
            amount: '500',
            deadline: new Date(Date.now() + 600_000).toISOString(),
            check: {
              kind: 'query',
              templateId: template.id,
              templateHash: template.hash,
              parameters: COHORT,
              metric: 'patients',
              threshold: 1000,
            },
          },
        ],
      }),
    );
  };
  /**
   * Status reads are queries: right after the workers change, one may reach the stopped worker's
   * sticky queue and fail; the next one is answered.
   */
  const settledRead = async <T>(read: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        if (!(error instanceof TuskApiError && error.status >= 500) || attempt >= 30) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  const grant = (id: string) => settledRead(() => sponsor.client.get<GrantStatus>(`/grants/${id}`));
  const sub = () =>
    settledRead(() => buyer.client.get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`));
  const scheduledActivities = async (workflowId: string) => {
    const history = await test.temporal.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((event) =>
      event.activityTaskScheduledEventAttributes?.activityType?.name
        ? [event.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
  };
  const replayAgainst = async (workflowsPath: string, workflowId: string) =>
    Worker.runReplayHistory(
      {
        workflowBundle: await testWorkflowBundle(workflowsPath),
        dataConverter: historyDataConverter(test.codec),
      },
      await test.temporal.workflow.getHandle(workflowId).fetchHistory(),
      workflowId,
    );

  beforeAll(async () => {
    test = await startTestDeployment(
      'upgrade',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
        env: { TUSK_MIN_PERIOD_MS: '1000', TUSK_PERIODS_PER_RUN: '50' },
      },
    );
    buyer = { ...test.deployment.buyer };
    sponsor = party(test, 'sponsor');
    lab = party(test, 'lab');
  });
  afterAll(async () => {
    if (test)
      await terminateRunning(test.temporal, [
        subscriptionWorkflowId(subscriptionId),
        grantWorkflowId(grantId),
        grantWorkflowId(newGrantId),
      ]);
    await test?.close();
  });

  it('version 1 runs a subscription and a grant until they wait', async () => {
    const template = await templateOf(buyer);
    const created = await buyer.client.request<SubscriptionStatus>(
      'POST',
      '/subscriptions',
      buyer.client.signed('subscription', {
        subscriptionId,
        queries: [
          {
            templateId: template.id,
            sellerId: template.seller,
            templateHash: template.hash,
            parameters: COHORT,
          },
        ],
        pricePerPeriod: '1000',
        periodSeconds: 4,
        buyerPublicKey: buyer.resultPublicKey,
        compliance: RESEARCH_IN_US,
      }),
    );
    expect(created.status).toBe(201);
    expect((await openGrant(grantId)).status).toBe(201);
    await waitFor(sub, (s) => s.deliveries.length > 0);
    await waitFor(
      () => grant(grantId),
      (s) => s.stage === 'active',
    );
    // Version 1's workers stop: the runs wait in Temporal for whoever polls next.
    await test.deployment.services.get('deals worker')!.stop();
  });

  // Each version's code is bundled once for the file (seconds, more on a loaded machine).
  it(
    'version 2 without patched() cannot replay the runs in flight: a worker would fail their next task',
    { timeout: 300_000 },
    async () => {
      for (const workflowId of [subscriptionWorkflowId(subscriptionId), grantWorkflowId(grantId)])
        await expect(replayAgainst(V2_UNPATCHED, workflowId), workflowId).rejects.toThrow(
          DeterminismViolationError,
        );
    },
  );

  it(
    'version 2 with patched() replays them, takes over, and both runs finish; a new run takes the new step',
    { timeout: 600_000 },
    async () => {
      for (const workflowId of [subscriptionWorkflowId(subscriptionId), grantWorkflowId(grantId)])
        await replayAgainst(V2_PATCHED, workflowId);

      const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const worker = await Worker.create({
        connection,
        namespace: 'default',
        taskQueue: DEALS_TASK_QUEUE,
        workflowBundle: await testWorkflowBundle(V2_PATCHED),
        dataConverter: historyDataConverter(test.codec),
      });
      try {
        await worker.runUntil(async () => {
          const before = (await sub()).currentPeriod;
          await waitFor(sub, (s) => s.currentPeriod > before && s.deliveries.some((d) => d.period > before));
          await settledRead(() => cancelSubscription(buyer.client, subscriptionId));
          expect(await waitFor(sub, (s) => s.stage === 'cancelled')).toMatchObject({ stage: 'cancelled' });

          await submitGrantEvidence(lab.client, grantId, 'enrolled', 'enrolment log');
          const completed = await waitFor(
            () => grant(grantId),
            (s) => s.stage === 'completed',
          );
          expect(completed.milestones.map((m) => m.stage)).toEqual(['released']);

          expect((await openGrant(newGrantId)).status).toBe(201);
          await waitFor(
            () => grant(newGrantId),
            (s) => s.stage === 'active',
          );
        });
      } finally {
        await connection.close();
      }
      // The run begun on version 1 never took the new step; the one begun on version 2 took it first.
      // (A grant's first step hashes the sponsor's terms, which its decisions are bound to.)
      expect((await scheduledActivities(grantWorkflowId(grantId))).slice(0, 2)).toEqual([
        'termsHash',
        'openEscrow',
      ]);
      expect((await scheduledActivities(grantWorkflowId(newGrantId))).slice(0, 3)).toEqual([
        'notifyParty',
        'termsHash',
        'openEscrow',
      ]);
      const described: WorkflowExecutionDescription = await test.temporal.workflow
        .getHandle(subscriptionWorkflowId(subscriptionId))
        .describe();
      expect(described.status.name).toBe('COMPLETED');
      // The finished histories, version 1 then version 2 in one run, replay on version 2.
      await replayAgainst(V2_PATCHED, subscriptionWorkflowId(subscriptionId));
      await replayAgainst(V2_PATCHED, grantWorkflowId(grantId));
    },
  );
});
