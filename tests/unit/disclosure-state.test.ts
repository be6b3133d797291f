import { describe, expect, it } from 'vitest';
import { DisclosureState, type DisclosureInput } from '../../workflows/disclosure/state';

const input: DisclosureInput = {
  disclosureId: 'x',
  dealId: 'd',
  termsHash: 'sha256:terms',
  auditorId: 'aud',
  reason: 'sampling audit',
  fields: ['parties', 'amount'],
  approvalTimeoutMs: 1000,
  viewMs: 100,
};

const scope = { workflowId: 'disclosure-x', runId: 'r1', subject: { id: 'd', termsHash: 'sha256:terms' } };
const voter = (principal: string, key = `key-of-${principal}`) => ({ principal, key });

describe('disclosure state', () => {
  it('opens the view on the second distinct approval, for the asking auditor only, until it expires', () => {
    const disclosure = new DisclosureState(input, scope, 0);
    expect(() => disclosure.decide(voter('aud'), 'approve', 100, 1)).toThrow(/who asked cannot approve/);
    disclosure.decide(voter('c1'), 'approve', 100, 1);
    expect(disclosure.stage).toBe('pending');
    expect(() => disclosure.assertCanView('aud', 2)).toThrow(/is pending/);
    expect(() => disclosure.decide(voter('c1'), 'approve', 100, 2)).toThrow(/already decided/);
    disclosure.decide(voter('c2'), 'approve', 100, 10);
    expect(disclosure.snapshot()).toMatchObject({ stage: 'approved', viewUntil: 110 });
    expect(() => disclosure.recordView('c1', 'sha256:v', 'nonce-1', 20)).toThrow(/only aud/);
    disclosure.recordView('aud', 'sha256:v', 'nonce-1', 20);
    expect(() => disclosure.recordView('aud', 'sha256:v', 'nonce-1', 21)).toThrow(/used already/);
    expect(() => disclosure.assertCanView('aud', 110)).toThrow(/expired/);
    expect(disclosure.nextDeadline()).toBe(110);
    disclosure.tick(110);
    expect(disclosure.finished).toBe(true);
    expect(disclosure.snapshot().views).toEqual([
      { viewer: 'aud', at: 20, fields: ['parties', 'amount'], valuesHash: 'sha256:v', nonce: 'nonce-1' },
    ]);
    expect(disclosure.snapshot().audit.map((e) => e.action)).toEqual([
      'requested',
      'approved',
      'approved',
      'view_opened',
      'viewed',
      'view_expired',
    ]);
  });

  it('needs two distinct keys, whatever principal names they come under', () => {
    const disclosure = new DisclosureState(input, scope, 0);
    disclosure.decide(voter('c1', 'shared'), 'approve', 100, 1);
    expect(() => disclosure.decide(voter('c2', 'shared'), 'approve', 100, 2)).toThrow(
      /key .* already decided/,
    );
    expect(disclosure.stage).toBe('pending');
  });

  it('a principal may change its approval to a denial while pending, which ends it', () => {
    const disclosure = new DisclosureState(input, scope, 0);
    disclosure.decide(voter('c1'), 'approve', 100, 1);
    disclosure.decide(voter('c1'), 'deny', 100, 2);
    expect(disclosure.snapshot()).toMatchObject({
      stage: 'denied',
      decisions: [{ principal: 'c1', decision: 'deny' }],
    });
    expect(() => disclosure.decide(voter('c1'), 'approve', 100, 3)).toThrow(/is denied/);
  });

  it('a changed vote does not count twice toward the two approvals', () => {
    const disclosure = new DisclosureState(input, scope, 0);
    disclosure.decide(voter('c1'), 'approve', 100, 1);
    expect(() => disclosure.decide(voter('c1'), 'approve', 100, 2)).toThrow(/already decided/);
    expect(disclosure.stage).toBe('pending');
    expect(disclosure.snapshot().decisions).toHaveLength(1);
  });

  it('one denial ends it; no decision in time lapses it', () => {
    const denied = new DisclosureState(input, scope, 0);
    denied.decide(voter('c1'), 'approve', 100, 1);
    denied.decide(voter('c2'), 'deny', 100, 2);
    expect(denied.stage).toBe('denied');
    expect(denied.nextDeadline()).toBeUndefined();

    const lapsed = new DisclosureState(input, scope, 0);
    lapsed.tick(999);
    expect(lapsed.stage).toBe('pending');
    lapsed.tick(1000);
    expect(lapsed.stage).toBe('lapsed');
    expect(() => lapsed.decide(voter('c1'), 'approve', 100, 1001)).toThrow(/lapsed/);
  });

  it('records each signed bundle export once, for the asking auditor while the view is open', () => {
    const disclosure = new DisclosureState(input, undefined, 0);
    expect(() => disclosure.scope).toThrow(/is starting/);
    disclosure.setScope(scope);
    expect(disclosure.snapshot().scope).toEqual(scope);
    expect(() => disclosure.assertCanExport('aud', 1, 'e1')).toThrow(/is pending/);
    disclosure.decide(voter('c1'), 'approve', 100, 1);
    disclosure.decide(voter('c2'), 'approve', 100, 2);
    expect(() => disclosure.recordBundleExport('c1', 'sha256:b', 3, 'e1')).toThrow(/only aud/);
    disclosure.recordBundleExport('aud', 'sha256:b', 3, 'e1');
    expect(() => disclosure.recordBundleExport('aud', 'sha256:b', 4, 'e1')).toThrow(/used already/);
    expect(() => disclosure.assertCanExport('aud', 102, 'e2')).toThrow(/expired/);
    expect(disclosure.snapshot().exports).toEqual([
      { viewer: 'aud', at: 3, valuesHash: 'sha256:b', nonce: 'e1' },
    ]);
    expect(disclosure.snapshot().audit.at(-1)).toMatchObject({ action: 'bundle_exported', by: 'aud' });
  });
});
