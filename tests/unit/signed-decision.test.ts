import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import {
  decisionMessage,
  decisionMismatch,
  decisionSignatureValid,
  signDecision,
  type DecisionStatement,
  type ExpectedDecision,
} from '../../lib/signed-decision';

const scope = {
  workflowId: 'disclosure:d1',
  runId: 'run-2',
  subject: { id: 'deal-b', termsHash: 'sha256:b' },
};
const content = { decision: 'approve', fields: ['parties', 'amount'], auditorId: 'auditor' };
const statement: DecisionStatement = {
  ...scope,
  action: 'disclosure_decision',
  principal: 'compliance-1',
  content,
  notAfter: 1_000,
};
const expected: ExpectedDecision = { scope, action: 'disclosure_decision', content };

describe('signed decisions', () => {
  const keys = generateEd25519KeyPair();
  const other = generateEd25519KeyPair();

  it('signs a domain-tagged, versioned canonical JSON statement; verifies only under its key and unchanged', () => {
    expect(decisionMessage(statement).split('\n')[0]).toBe('tusk decision v2');
    const signed = signDecision(keys.privateKeyPem, statement);
    expect(decisionSignatureValid(keys.publicKey, signed)).toBe(true);
    expect(decisionSignatureValid(other.publicKey, signed)).toBe(false);
    const moved = { ...signed, statement: { ...statement, runId: 'run-1' } };
    expect(decisionSignatureValid(keys.publicKey, moved)).toBe(false);
    expect(decisionSignatureValid(keys.publicKey, { ...signed, signature: 'not base64' })).toBe(false);
  });

  it('decides exactly what is expected, before its expiry', () => {
    expect(decisionMismatch(statement, expected, 999)).toBeUndefined();
    expect(decisionMismatch(statement, expected, 1_000)).toMatch(/expired/);
  });

  it.each([
    ['another run', { runId: 'run-1' }, /signed for run run-1 of disclosure:d1, not run run-2/],
    ['another workflow', { workflowId: 'disclosure:d2' }, /signed for run run-2 of disclosure:d2/],
    ['another deal', { subject: { id: 'deal-a', termsHash: 'sha256:b' } }, /signed about deal-a/],
    ['other terms', { subject: { id: 'deal-b', termsHash: 'sha256:a' } }, /terms sha256:a/],
    ['another action', { action: 'disclosure_view' }, /signed as disclosure_view/],
    ['other fields', { content: { ...content, fields: ['amount'] } }, /signed over/],
    ['another auditor', { content: { ...content, auditorId: 'auditor-2' } }, /signed over/],
    ['no expiry', { notAfter: Number.NaN }, /no expiry/],
  ] as const)('is refused when signed for %s', (_what, change, reason) => {
    expect(decisionMismatch({ ...statement, ...change }, expected, 0)).toMatch(reason);
  });

  it('names the principal that must sign where one must, and refuses a malformed statement', () => {
    expect(decisionMismatch(statement, { ...expected, principal: 'sponsor' }, 0)).toMatch(
      /sponsor must sign/,
    );
    expect(decisionMismatch({ ...statement, content: undefined }, expected, 0)).toMatch(
      /malformed|signed over/,
    );
  });
});
