import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import type { HistoryJson } from '../../audit/history-json';
import { auditorKeysFromLog } from '../../audit/verify/auditor-keys';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { keyLogPath } from '../../lib/key-log';
import { addParty } from '../../lib/parties';
import { approveOutcome, openDispute } from '../../lib/signed-actions';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { signDocument } from '../../lib/transparency/signed-document';
import { TuskClient } from '../../lib/tusk-client';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party, waitFor } from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const CHECK = 'money back against the losing side';

/**
 * A compliance principal that voted for a refund rotates its key afterwards. The audit checks the vote
 * under the key valid when the dispute counted it (from the transparency log), so the refund still
 * passes; a history in which the old key's vote counted after the rotation is named.
 */
describe('audit: a refund voted before a compliance key rotation', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorKey: string;

  beforeAll(async () => {
    test = await startTestDeployment(
      'loser-key-rotation',
      async (s) => {
        template = await s.publishDemoTemplate();
      },
      {
        parties: [...LIFECYCLE_PARTIES, { id: 'rotating-compliance', role: 'compliance' }],
        acceptanceTimeoutMs: 300_000,
      },
    );
    operatorKey = (await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false))
      .publicKey;
  });
  afterAll(() => test?.close());

  it('passes the votes counted before the rotation, and names the old key counted after it', async () => {
    const { buyer } = test.deployment;
    const rotating = party(test, 'rotating-compliance');
    const deal = await buyDeal(test.deployment, template.id, PARAMETERS);
    expect((await deal.delivered()).stage).toBe('delivered');
    await openDispute(buyer.client, deal.dealId, 'the table is empty');
    await waitFor(
      () => rotating.client.get<{ stage: string }>(`/deals/${deal.dealId}/dispute`).catch(() => undefined),
      (s) => s?.stage === 'open',
    );
    await approveOutcome(rotating.client, deal.dealId, { kind: 'refund' });
    await approveOutcome(party(test, 'compliance-2').client, deal.dealId, { kind: 'refund' });
    const final: DealStatus = await test.temporal.workflow.getHandle(deal.dealId).result();
    expect(final.stage).toBe('refunded');

    // The principal rotates its key; its next signed request makes the API log the new registration.
    const rotated = generateEd25519KeyPair();
    await addParty(join(test.home, 'parties.json'), {
      id: rotating.id,
      role: 'compliance',
      publicKey: rotated.publicKey,
    });
    const renewed = new TuskClient(test.deployment.apiUrl, rotating.id, rotated.privateKeyPem);
    const logged = await renewed.get<{ registrations: { registration: { publicKey: string } }[] }>(
      keyLogPath(rotating.id, 'party'),
    );
    expect(logged.registrations.map((r) => r.registration.publicKey)).toEqual([
      rotating.client.publicKey,
      rotated.publicKey,
    ]);

    const auditor = party(test, 'auditor').client;
    const loserCheck = async (bundle: SignedBundle) => {
      const keys = await auditorKeysFromLog((path) => auditor.get(path), operatorKey, bundle);
      const report = await verifyBundle(bundle, { operatorKey, keys });
      return report.checks.filter((c) => c.check === CHECK);
    };
    const genuine = await buyer.client.get<SignedBundle>(`/deals/${deal.dealId}/audit-bundle`);
    expect(await loserCheck(genuine)).toEqual([
      expect.objectContaining({ status: 'ok', detail: expect.stringMatching(/^1 refunds or splits/) }),
    ]);

    // The operator's rewritten history: the dispute counted the old key's vote after the rotation.
    const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    const late = new Date(Date.now() + 1000).toISOString();
    const forged = signDocument(signer, {
      ...genuine.body,
      runs: genuine.body.runs.map((run) => ({
        ...run,
        history: updatesAcceptedAt(run.history as HistoryJson, late),
      })),
    });
    const named = await loserCheck(forged);
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ status: 'finding' });
    expect(named[0]!.detail).toMatch(
      new RegExp(
        `refunded after delivery without the seller's side decided: 1 of the 2 compliance votes \\(rotating-compliance's vote: signed with key ${rotating.client.publicKey}, retired at .*: a retired key\\)`,
      ),
    );
  }, 300_000);
});

/** The history with every accepted update dated `time`, as an operator rewriting it would. */
function updatesAcceptedAt(history: HistoryJson, time: string): HistoryJson {
  const copy = structuredClone(history);
  for (const event of copy.events)
    if (event.workflowExecutionUpdateAcceptedEventAttributes) event.eventTime = time;
  return copy;
}
