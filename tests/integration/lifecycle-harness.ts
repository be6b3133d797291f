import { join } from 'node:path';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { AesGcmPayloadCodec } from '../../lib/codec/aes-gcm-codec';
import { addParty } from '../../lib/parties';
import { Worker } from '@temporalio/worker';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { TuskClient } from '../../lib/tusk-client';
import { decodeHistoryJson, searchableText } from '../support/history-codec';
import { testWorkflowBundle } from '../support/workflow-bundle';
import type { ExtraParty, PartyIdentity } from '../../scripts/lib/local-deployment';
import type { TestDeployment } from './harness';
import {
  signDecision,
  type DecisionAction,
  type DecisionScope,
  type SignedDecision,
} from '../../lib/signed-decision';

/** The parties the lifecycle suites register beside the demo buyer and the seller. */
export const LIFECYCLE_PARTIES: ExtraParty[] = [
  { id: 'sponsor', role: 'sponsor', funds: 100_000n },
  { id: 'auditor', role: 'auditor' },
  { id: 'compliance-1', role: 'compliance' },
  { id: 'compliance-2', role: 'compliance' },
  { id: 'reviewer', role: 'compliance' },
  { id: 'thin-buyer', role: 'buyer', funds: 1000n },
  // A research group receiving a grant: any party that can be paid.
  { id: 'lab', role: 'buyer' },
];

export function party(test: TestDeployment, id: string): PartyIdentity {
  const identity = test.deployment.parties.get(id);
  if (!identity) throw new Error(`the deployment has no party ${id}`);
  return identity;
}

/** The test's seller as a signed API client. */
export function sellerIdentity(test: TestDeployment): Pick<PartyIdentity, 'id' | 'client'> {
  const client = new TuskClient(test.deployment.apiUrl, test.seller.id, test.seller.keys.privateKeyPem);
  return { id: test.seller.id, client };
}

/**
 * Registers one more compliance principal under an existing party's key, as an operator who edits
 * the registry could: one key under two names must still count once.
 */
export async function registerAlias(test: TestDeployment, aliasId: string, keyOf: string): Promise<void> {
  await addParty(join(test.home, 'parties.json'), {
    id: aliasId,
    role: 'compliance',
    publicKey: party(test, keyOf).client.publicKey,
  });
}

/**
 * A decision statement signed with `signer`'s key: as its principal (by default), or as another
 * principal (a forgery), over whatever scope and content the test names.
 */
export function signedBy<C>(
  test: TestDeployment,
  signer: string,
  scope: DecisionScope,
  action: DecisionAction,
  content: C,
  options: { principal?: string; notAfter?: number } = {},
): SignedDecision<C> {
  const { buyer } = test.deployment;
  const identity = signer === buyer.id ? buyer : party(test, signer);
  return signDecision(identity.signingKeyPem, {
    ...scope,
    action,
    principal: options.principal ?? signer,
    content,
    notAfter: options.notAfter ?? Date.now() + 10 * 60_000,
  });
}

/** The reason an update was rejected with, as whoever sent it straight to Temporal sees it. */
export async function updateRefusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof WorkflowUpdateFailedError)) throw new Error(`not refused: ${String(error)}`);
  return error.cause?.message ?? '';
}

/** Polls until `done` holds; the timeout is generous, since the machine may be busy. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still waiting after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function sleepUntil(at: number): Promise<void> {
  const left = at - Date.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

/** Polls until `attempt` rejects, and returns the rejection. */
export async function waitForRefusal(attempt: () => Promise<unknown>, timeoutMs = 90_000): Promise<unknown> {
  return waitFor(
    () =>
      attempt().then(
        () => undefined,
        (error: unknown) => error ?? new Error('rejected'),
      ),
    (error) => error !== undefined,
    timeoutMs,
  );
}

/**
 * A workflow's recorded history, as text, with every payload decrypted by the history codec and
 * decoded: what a privacy check searches (what holds the keys may see no more than this either).
 */
export async function historyText(test: TestDeployment, workflowId: string, runId?: string): Promise<string> {
  const history = await test.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  return searchableText(await decodeHistoryJson(history, test.codec));
}

/** Replays a recorded run against today's workflow code: resolves only if the code is deterministic for it. */
export async function replay(
  test: TestDeployment,
  workflowId: string,
  runId?: string,
  codec: AesGcmPayloadCodec = test.codec,
): Promise<void> {
  const history = await test.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  await Worker.runReplayHistory(
    {
      workflowBundle: await testWorkflowBundle(),
      dataConverter: historyDataConverter(codec),
    },
    history,
    workflowId,
  );
}

/** Ends workflows a suite left running, so they do not wake up in a later suite's workers. */
export async function terminateRunning(temporal: Client, workflowIds: string[]): Promise<void> {
  for (const id of workflowIds) {
    await temporal.workflow
      .getHandle(id)
      .terminate('test suite finished')
      .catch(() => undefined);
  }
}
