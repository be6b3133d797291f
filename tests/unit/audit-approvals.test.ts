import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../lib/audit/bundle';
import { checkApprovals } from '../../lib/audit/verify/checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDecision } from '../../lib/signed-decision';

const WORKFLOW = 'deal-1-dispute';
const OUTCOME = { kind: 'refund' };
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A dispute history holding the given approvals as accepted and completed updates. */
function disputeWith(approvals: { principal: string; signature: string; succeeded?: boolean }[]) {
  const events = approvals.flatMap((approval, i) => [
    {
      eventId: String(2 * i + 1),
      eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
      workflowExecutionUpdateAcceptedEventAttributes: {
        acceptedRequest: {
          meta: { updateId: `u${i}` },
          input: {
            name: 'approveDisputeOutcome',
            args: {
              payloads: [
                jsonPayload({
                  principal: approval.principal,
                  outcome: OUTCOME,
                  signature: approval.signature,
                }),
              ],
            },
          },
        },
      },
    },
    {
      eventId: String(2 * i + 2),
      eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
      workflowExecutionUpdateCompletedEventAttributes: {
        meta: { updateId: `u${i}` },
        outcome:
          approval.succeeded === false ? { failure: { message: 'refused' } } : { success: { payloads: [] } },
      },
    },
  ]);
  return events;
}

function bundleOf(events: unknown[], parties: { id: string; publicKey: string }[]): SignedBundle {
  return {
    body: {
      runs: [{ workflowId: WORKFLOW, runId: 'r1', workflowType: 'dispute', history: { events } }],
      parties: parties.map((p) => ({ ...p, role: 'compliance' })),
    },
  } as unknown as SignedBundle;
}

describe('audit: approvals are signed by distinct principals', () => {
  const one = generateEd25519KeyPair();
  const two = generateEd25519KeyPair();
  const sign = (pem: string) => signDecision(pem, WORKFLOW, OUTCOME);

  it('two principals under two keys, each signing its own approval: no finding', () => {
    const bundle = bundleOf(
      disputeWith([
        { principal: 'compliance-1', signature: sign(one.privateKeyPem) },
        { principal: 'compliance-2', signature: sign(two.privateKeyPem) },
      ]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'compliance-2', publicKey: two.publicKey },
      ],
    );
    expect(checkApprovals(bundle)).toEqual([
      {
        check: `approvals of ${WORKFLOW}`,
        status: 'ok',
        detail: '2 signed approvals, distinct principals and keys',
      },
    ]);
  });

  it('an approval signed twice by one key under two names is a finding', () => {
    const bundle = bundleOf(
      disputeWith([
        { principal: 'compliance-1', signature: sign(one.privateKeyPem) },
        { principal: 'alias', signature: sign(one.privateKeyPem) },
      ]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'alias', publicKey: one.publicKey },
      ],
    );
    expect(checkApprovals(bundle)).toEqual([
      {
        check: `approvals of ${WORKFLOW}`,
        status: 'finding',
        detail: 'one key signed the approvals of compliance-1 and alias: not two distinct principals',
      },
    ]);
  });

  it("an approval not signed by its principal's key is a finding; a refused update does not count", () => {
    const bundle = bundleOf(
      disputeWith([
        { principal: 'compliance-1', signature: sign(one.privateKeyPem) },
        { principal: 'compliance-2', signature: sign(one.privateKeyPem) },
        { principal: 'compliance-1', signature: sign(one.privateKeyPem), succeeded: false },
      ]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'compliance-2', publicKey: two.publicKey },
      ],
    );
    expect(checkApprovals(bundle).map((c) => c.detail)).toEqual([
      "compliance-2's approval is not signed by compliance-2's key",
    ]);
  });
});
