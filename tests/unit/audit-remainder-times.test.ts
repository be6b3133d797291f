import { describe, expect, it } from 'vitest';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditorKeys } from '../../audit/verify/auditor-keys';
import { checkRemainderTimes } from '../../audit/verify/remainder-checks';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { grantEscrowId } from '../../lib/ids/escrow-ids';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';

const sponsor = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();
const NONCE = 'nonce-of-these-terms';
const DEADLINE = Date.parse('2027-01-01T00:00:00Z');
const EXTENDED = Date.parse('2027-03-01T00:00:00Z');
const terms = signTerms(
  'grant',
  'sp',
  {
    grantId: 'g1',
    granteeId: 'lab',
    total: '500',
    feeBps: 250,
    nonce: NONCE,
    milestones: [
      {
        milestoneId: 'report',
        amount: '500',
        deadline: new Date(DEADLINE).toISOString(),
        check: { kind: 'sponsor_approval' },
      },
    ],
  },
  sponsor.privateKeyPem,
);
const keys: AuditorKeys = { parties: { sp: { keys: [sponsor.publicKey], from: 'pinned' } }, perimeters: {} };
const extension = (key = sponsor.privateKeyPem) =>
  signDecision(key, {
    workflowId: grantWorkflowId('g1'),
    runId: 'r1',
    subject: { id: 'g1', termsHash: termsHashOf(terms) },
    action: 'deadline_extension',
    principal: 'sp',
    content: { milestoneId: 'report', deadline: EXTENDED },
    notAfter: DEADLINE,
  });

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** A grant's history: started with the sponsor's terms, an update carrying `updates`, a remainder at `at`. */
function grantBundle(at: number, updates: unknown[], remainder: Record<string, unknown> = {}): SignedBundle {
  const events = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'milestoneGrant' },
        input: { payloads: [jsonPayload({ grantId: 'g1', sponsorId: 'sp', granteeId: 'lab', terms })] },
      },
    },
    ...updates.map((signed, i) => ({
      eventId: `u${i}`,
      workflowExecutionUpdateAcceptedEventAttributes: {
        acceptedRequest: { input: { args: { payloads: [jsonPayload({ signed })] } } },
      },
    })),
    {
      eventId: '2',
      activityTaskScheduledEventAttributes: {
        activityType: { name: 'refundRemainder' },
        taskQueue: { name: 'settlement' },
        input: {
          payloads: [jsonPayload({ dealId: grantEscrowId('g1', NONCE), funderId: 'sp', ...remainder })],
        },
      },
    },
    {
      eventId: '3',
      eventTime: new Date(at).toISOString(),
      activityTaskCompletedEventAttributes: { scheduledEventId: '2' },
    },
  ];
  return {
    body: {
      subject: { kind: 'grant', grantId: 'g1' },
      runs: [
        {
          workflowId: grantWorkflowId('g1'),
          runId: 'r1',
          workflowType: 'milestoneGrant',
          history: { events },
        },
      ],
    },
  } as unknown as SignedBundle;
}

const statusOf = (bundle: SignedBundle) =>
  checkRemainderTimes(bundle, keys).map((c) => `${c.status}: ${c.detail}`);

describe("audit: a grant's remainder without the grantee's consent only past every extended deadline", () => {
  it('passes a remainder past the signed deadline when nothing extended it', () => {
    expect(statusOf(grantBundle(DEADLINE + 1, []))).toEqual([expect.stringMatching(/^ok: 1 remainders/)]);
  });

  it("names a remainder returned at the original deadline when the history holds the sponsor's extension", () => {
    expect(statusOf(grantBundle(DEADLINE + 1, [{ wrapped: extension() }]))).toEqual([
      expect.stringMatching(/^finding: .* before the deadline the sponsor signed or extended \(2027-03-01/),
    ]);
    // Shown to settlement in the call, the same.
    expect(statusOf(grantBundle(DEADLINE + 1, [], { extensions: [extension()] }))).toEqual([
      expect.stringMatching(/^finding/),
    ]);
    expect(statusOf(grantBundle(EXTENDED, [extension()]))).toEqual([expect.stringMatching(/^ok/)]);
  });

  it("does not count an extension the sponsor did not sign, and passes the grantee's consent", () => {
    expect(statusOf(grantBundle(DEADLINE + 1, [extension(stranger.privateKeyPem)]))).toEqual([
      expect.stringMatching(/^ok/),
    ]);
    expect(statusOf(grantBundle(DEADLINE - 1, [], { consent: { any: 1 } }))).toEqual([
      expect.stringMatching(/^ok/),
    ]);
  });
});
