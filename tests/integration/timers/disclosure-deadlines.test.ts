import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDecisionCheckActivities } from '../../../activities/coordinator/decision-check';
import { createLifecycleRecordActivities } from '../../../activities/coordinator/lifecycle-records';
import { BlobStore } from '../../../lib/blob-store';
import { generateEd25519KeyPair } from '../../../lib/ed25519';
import type { RegisteredKeys } from '../../../lib/key-log';
import { signDecision, type DecisionScope } from '../../../lib/signed-decision';
import { COORDINATOR_TASK_QUEUE } from '../../../lib/task-queues';
import {
  decideDisclosureUpdate,
  disclosure,
  disclosureStatusQuery,
} from '../../../workflows/disclosure/workflow';
import type { DisclosureInput, DisclosureStatus } from '../../../workflows/disclosure/state';
import { disclosureWorkflowId } from '../../../lib/ids/workflow-ids';

const DAY = 24 * 3600_000;
const WORKFLOW_QUEUE = 'timers';
const TERMS_HASH = `sha256:${'ab'.repeat(32)}`;
/** A timer fires at its time or just after it (the next workflow task), never before. */
function expectSoonAfter(elapsedMs: number, deadlineMs: number): void {
  expect(elapsedMs).toBeGreaterThanOrEqual(deadlineMs);
  expect(elapsedMs).toBeLessThan(deadlineMs + 60_000);
}

const principals = { 'compliance-1': generateEd25519KeyPair(), 'compliance-2': generateEd25519KeyPair() };

/** The transparency log's answer for the two compliance principals (the log itself is tested elsewhere). */
const keys: RegisteredKeys = {
  currentKey: async (partyId) => {
    const pair = principals[partyId as keyof typeof principals];
    return pair
      ? {
          type: 'tusk.key-registration/v1',
          partyId,
          role: 'compliance',
          purpose: 'party',
          publicKey: pair.publicKey,
          sequence: 0,
        }
      : undefined;
  },
};

/**
 * A disclosure's deadlines as deployed (days, not seconds), on Temporal's time-skipping test server:
 * the workflow's timers fire when their time comes, the server jumps the clock between them, and
 * each run takes seconds. The coordinator's real decision check and audit record store run beside
 * it; only the deal whose terms the disclosure is about is not there (its terms hash is given).
 */
describe('disclosure deadlines, on a time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let blobDir: string;
  let blobs: BlobStore;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    try {
      // The SDK's worker-state lines would bury the test's own output.
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Installed already in this process.
    }
    const server = inject('timeSkippingServer');
    if (!server) throw new Error(`no time-skipping test server: ${inject('timeSkippingProblem')}`);
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: server } },
    });
    blobDir = await mkdtemp(join(tmpdir(), 'tusk-timers-'));
    blobs = new BlobStore(blobDir);
    const workflows = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: WORKFLOW_QUEUE,
      workflowsPath: join(__dirname, '../../../workflows/index.ts'),
    });
    const coordinator = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: COORDINATOR_TASK_QUEUE,
      activities: {
        ...createLifecycleRecordActivities({ blobs }),
        ...createDecisionCheckActivities({ keys }),
        signedSubjectHash: async () => TERMS_HASH,
      },
    });
    const running = Promise.all([workflows.run(), coordinator.run()]);
    stop = async () => {
      workflows.shutdown();
      coordinator.shutdown();
      await running;
    };
  }, 180_000);

  afterAll(async () => {
    await stop?.();
    await env?.teardown();
    if (blobDir) await rm(blobDir, { recursive: true, force: true });
  });

  const start = (disclosureId: string, input: Partial<DisclosureInput> = {}) =>
    env.client.workflow.start(disclosure, {
      taskQueue: WORKFLOW_QUEUE,
      workflowId: disclosureWorkflowId(disclosureId),
      args: [
        {
          disclosureId,
          dealId: `deal-of-${disclosureId}`,
          auditorId: 'auditor',
          reason: 'annual review',
          fields: ['parties', 'amount'],
          approvalTimeoutMs: 7 * DAY,
          viewMs: DAY,
          ...input,
        },
      ],
    });

  it('a request nobody decides lapses after its seven days, and its audit record is stored', async () => {
    const handle = await start('lapses');
    const lapsed = await handle.result();
    expect(lapsed.stage).toBe('lapsed');
    expect(lapsed.decideBy - lapsed.requestedAt).toBe(7 * DAY);
    expect(lapsed.audit.map((event) => event.action)).toEqual(['requested', 'lapsed']);
    expectSoonAfter(lapsed.audit[1]!.at - lapsed.requestedAt, 7 * DAY);
    const record = JSON.parse((await blobs.get(lapsed.auditRef!)).toString()) as { events: unknown[] };
    expect(record.events).toHaveLength(2);
  });

  it('an approved view closes a day after the second approval, and the run ends expired', async () => {
    const handle = await start('expires');
    let status: DisclosureStatus;
    do status = await handle.query(disclosureStatusQuery);
    while (!status.scope);
    expect(status.scope).toEqual({
      workflowId: disclosureWorkflowId('expires'),
      runId: handle.firstExecutionRunId,
      subject: { id: 'deal-of-expires', termsHash: TERMS_HASH },
    } satisfies DecisionScope);
    // A day in, the first principal approves; three days in, the second: the view opens then.
    await env.sleep(DAY);
    await approve(handle, 'compliance-1', status.scope);
    await env.sleep(2 * DAY);
    const approved = await approve(handle, 'compliance-2', status.scope);
    expect(approved.stage).toBe('approved');
    expect(approved.viewUntil! - approved.requestedAt).toBeGreaterThanOrEqual(4 * DAY);
    const ended = await handle.result();
    expect(ended.stage).toBe('expired');
    const at = (action: string) => ended.audit.find((event) => event.action === action)!.at;
    expectSoonAfter(at('view_expired') - at('view_opened'), DAY);
    expect(ended.audit.map((event) => event.action)).toEqual([
      'requested',
      'approved',
      'approved',
      'view_opened',
      'view_expired',
    ]);
  });

  async function approve(
    handle: Awaited<ReturnType<typeof start>>,
    principal: keyof typeof principals,
    scope: DecisionScope,
  ): Promise<DisclosureStatus> {
    const signed = signDecision(principals[principal].privateKeyPem, {
      ...scope,
      action: 'disclosure_decision',
      principal,
      content: { decision: 'approve', fields: ['parties', 'amount'], auditorId: 'auditor' },
      // The workflow checks expiry against its time, which skips; the coordinator against its clock.
      notAfter: Math.max(Date.now(), await env.currentTimeMs()) + 600_000,
    });
    return handle.executeUpdate(decideDisclosureUpdate, { args: [{ signed }] });
  }
});
