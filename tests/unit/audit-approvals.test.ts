import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import { checkApprovals, checkDecisionBindings } from '../../audit/verify/decision-checks';
import { pinnedKeys, type AuditorKeys } from '../../audit/verify/auditor-keys';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDecision, type SignedDecision } from '../../lib/signed-decision';

const WORKFLOW = 'deal-1-dispute';
const RUN = 'r1';
const OUTCOME = { kind: 'refund' };
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A dispute history holding the given approvals as accepted and completed updates. */
function disputeWith(approvals: { signed: SignedDecision; succeeded?: boolean }[]) {
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
              payloads: [jsonPayload({ signed: approval.signed })],
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
      runs: [{ workflowId: WORKFLOW, runId: RUN, workflowType: 'dispute', history: { events } }],
      parties: parties.map((p) => ({ ...p, role: 'compliance' })),
    },
  } as unknown as SignedBundle;
}

/** What an auditor pinned: here the very keys the registry held, so only the signatures are at stake. */
const pinnedAs = (bundle: SignedBundle): AuditorKeys =>
  pinnedKeys(
    { parties: Object.fromEntries(bundle.body.parties.map((p) => [p.id, p.publicKey])), perimeters: {} },
    'the keys pinned',
  );

describe('audit: approvals are signed by distinct principals', () => {
  const one = generateEd25519KeyPair();
  const two = generateEd25519KeyPair();
  /** `principal`'s approval of OUTCOME, signed with `pem`, for run `runId` of the dispute. */
  const sign = (pem: string, principal: string, runId = RUN) => ({
    signed: signDecision(pem, {
      workflowId: WORKFLOW,
      runId,
      subject: { id: 'deal-1', termsHash: 'sha256:terms' },
      action: 'dispute_outcome',
      principal,
      content: { outcome: OUTCOME },
      notAfter: 2_000_000_000_000,
    }),
  });

  it('two principals under two keys, each signing its own approval: no finding', () => {
    const bundle = bundleOf(
      disputeWith([
        { ...sign(one.privateKeyPem, 'compliance-1') },
        { ...sign(two.privateKeyPem, 'compliance-2') },
      ]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'compliance-2', publicKey: two.publicKey },
      ],
    );
    expect(checkApprovals(bundle, pinnedAs(bundle))).toEqual([
      {
        check: `approvals of ${WORKFLOW}`,
        status: 'ok',
        detail: '2 signed approvals, distinct principals and keys',
      },
    ]);
  });

  it('an approval signed twice by one key under two names is a finding', () => {
    const bundle = bundleOf(
      disputeWith([{ ...sign(one.privateKeyPem, 'compliance-1') }, { ...sign(one.privateKeyPem, 'alias') }]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'alias', publicKey: one.publicKey },
      ],
    );
    expect(checkApprovals(bundle, pinnedAs(bundle))).toEqual([
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
        { ...sign(one.privateKeyPem, 'compliance-1') },
        { ...sign(one.privateKeyPem, 'compliance-2') },
        { ...sign(one.privateKeyPem, 'compliance-1'), succeeded: false },
      ]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'compliance-2', publicKey: two.publicKey },
      ],
    );
    expect(checkApprovals(bundle, pinnedAs(bundle)).map((c) => c.detail)).toEqual([
      "compliance-2's approval is not signed by compliance-2's key",
    ]);
  });

  it('an approval signed on another run of the same workflow id is named by the binding check', () => {
    const parties = [
      { id: 'compliance-1', publicKey: one.publicKey },
      { id: 'compliance-2', publicKey: two.publicKey },
    ];
    const genuine = bundleOf(
      disputeWith([sign(one.privateKeyPem, 'compliance-1'), sign(two.privateKeyPem, 'compliance-2')]),
      parties,
    );
    expect(checkDecisionBindings(genuine, pinnedAs(genuine)).map((c) => c.status)).toEqual(['ok']);
    const copied = bundleOf(
      disputeWith([
        sign(one.privateKeyPem, 'compliance-1', 'an-earlier-run'),
        sign(two.privateKeyPem, 'compliance-2'),
      ]),
      parties,
    );
    expect(checkDecisionBindings(copied, pinnedAs(copied))).toEqual([
      {
        check: `signed decisions of ${WORKFLOW}`,
        status: 'finding',
        detail: `compliance-1's dispute_outcome (approveDisputeOutcome) was signed for run an-earlier-run of ${WORKFLOW}, not this run ${RUN} of ${WORKFLOW}`,
      },
    ]);
  });

  it("keys come from what the auditor pins, never the bundle: a bundle carrying a forger's key is caught", () => {
    const forger = generateEd25519KeyPair();
    // The operator signs compliance-2's approval itself and puts its own key in the bundle as compliance-2's.
    const bundle = bundleOf(
      disputeWith([sign(one.privateKeyPem, 'compliance-1'), sign(forger.privateKeyPem, 'compliance-2')]),
      [
        { id: 'compliance-1', publicKey: one.publicKey },
        { id: 'compliance-2', publicKey: forger.publicKey },
      ],
    );
    const pinned = pinnedKeys(
      { parties: { 'compliance-1': one.publicKey, 'compliance-2': two.publicKey }, perimeters: {} },
      'the keys pinned',
    );
    expect(checkApprovals(bundle, pinned).map((c) => c.detail)).toEqual([
      "compliance-2's approval is not signed by compliance-2's key",
    ]);
    expect(checkDecisionBindings(bundle, pinned).map((c) => c.status)).toEqual(['finding']);
    // Without keys of its own the auditor is told what was not checked; nothing passes on the bundle's word.
    expect(checkApprovals(bundle).map((c) => c.status)).toEqual(['skipped']);
    expect(checkDecisionBindings(bundle).map((c) => c.status)).toEqual(['skipped']);
  });
});
