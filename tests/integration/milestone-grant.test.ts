import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { approveMilestoneUpdate, milestoneGrant, submitEvidenceUpdate } from '../../workflows/grant/workflow';
import { approveMilestone, evidenceRef, submitGrantEvidence } from '../../lib/signed-actions';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { startTestDeployment, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  replay,
  signedBy,
  terminateRunning,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const COHORT = { min_age: 30, max_age: 50, sex: 'F' };

describe('a milestone grant: one query-verified milestone met, one missed', () => {
  let test: TestDeployment;
  let sponsor: PartyIdentity;
  let lab: PartyIdentity;
  const grantId = `grant-${crypto.randomUUID()}`;
  const forgedGrantId = `forged-${crypto.randomUUID()}`;
  const approvalGrantId = `approval-${crypto.randomUUID()}`;

  beforeAll(async () => {
    test = await startTestDeployment(
      'grant',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: LIFECYCLE_PARTIES,
      },
    );
    sponsor = party(test, 'sponsor');
    lab = party(test, 'lab');
  });
  afterAll(async () => {
    if (test)
      await terminateRunning(
        test.temporal,
        [grantId, forgedGrantId, approvalGrantId].map((id) => grantWorkflowId(id)),
      );
    await test?.close();
  });

  const status = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
  const evidence = (milestoneId: string) =>
    submitGrantEvidence<GrantStatus>(lab.client, grantId, milestoneId, `enrolment log for ${milestoneId}`);

  it('releases the met tranche, and refunds the rest once the other deadline passes', async () => {
    const { templates } = await sponsor.client.get<{ templates: { id: string; hash: string }[] }>(
      '/templates',
    );
    const check = (threshold: number) => ({
      kind: 'query',
      templateId: templates[0]!.id,
      templateHash: templates[0]!.hash,
      parameters: COHORT,
      metric: 'patients',
      threshold,
    });
    const now = Date.now();
    const created = await sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', {
        grantId,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'enrolled',
            name: '≥ 1,000 participants enrolled',
            amount: '600',
            deadline: new Date(now + 120_000).toISOString(),
            check: check(1000),
          },
          {
            milestoneId: 'scaled-up',
            name: '≥ 1,000,000,000 participants enrolled',
            amount: '400',
            deadline: new Date(now + 15_000).toISOString(),
            check: check(1e9),
          },
        ],
      }),
    );
    expect(created.status).toBe(201);
    await waitFor(status, (s) => s.stage === 'active');
    await evidence('enrolled');
    await evidence('scaled-up');

    const released = await waitFor(status, (s) => s.milestones[0]!.stage === 'released');
    expect(released.milestones[0]!.lastCheck).toMatchObject({ met: true });
    const ended = await waitFor(status, (s) => s.stage === 'ended');
    expect(ended.milestones.map((m) => m.stage)).toEqual(['released', 'missed']);
    expect(ended.milestones[1]!.lastCheck).toMatchObject({ met: false });
    expect(ended.refunded).toBe('400');

    const { ledger } = test.deployment;
    expect(await ledger.balanceOf(lab.id)).toBe(585n);
    expect(await ledger.balanceOf(OPERATOR_ACCOUNT)).toBe(15n);
    expect(await ledger.balanceOf(sponsor.id)).toBe(100_000n - 600n);
  });

  it('a threshold the sponsor did not sign, started straight on Temporal, is refused by the perimeter', async () => {
    const { templates } = await sponsor.client.get<{ templates: { id: string; hash: string }[] }>(
      '/templates',
    );
    const check = (threshold: number) => ({
      kind: 'query' as const,
      templateId: templates[0]!.id,
      templateHash: templates[0]!.hash,
      parameters: COHORT,
      metric: 'patients',
      threshold,
    });
    const deadline = Date.now() + 120_000;
    const milestone = { milestoneId: 'enrolled', name: 'enrolled', amount: '100' };
    // The sponsor signed a threshold nobody can meet; the operator lowers it to one participant.
    const terms = sponsor.client.signTerms('grant', {
      grantId: forgedGrantId,
      granteeId: lab.id,
      milestones: [{ ...milestone, deadline: new Date(deadline).toISOString(), check: check(1e9) }],
    });
    const labBefore = await test.deployment.ledger.balanceOf(lab.id);
    await test.temporal.workflow.start(milestoneGrant, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: grantWorkflowId(forgedGrantId),
      args: [
        {
          grantId: forgedGrantId,
          sponsorId: sponsor.id,
          granteeId: lab.id,
          feeBps: 250,
          milestones: [{ ...milestone, deadline, check: { ...check(1), sellerId: test.seller.id } }],
          terms,
        },
      ],
    });
    const forged = () => sponsor.client.get<GrantStatus>(`/grants/${forgedGrantId}`);
    await waitFor(forged, (s) => s.stage === 'active');
    await submitGrantEvidence(lab.client, forgedGrantId, 'enrolled', 'log');
    const checked = await waitFor(forged, (s) => s.milestones[0]!.lastCheck !== undefined);
    expect(checked.milestones[0]).toMatchObject({
      stage: 'open',
      lastCheck: { met: false, problem: 'TermsMismatch' },
    });
    expect(await test.deployment.ledger.balanceOf(lab.id)).toBe(labBefore);
  });

  it('evidence and approvals sent straight to Temporal count only when signed by the party named for this run: nothing is paid', async () => {
    const report = { milestoneId: 'report', name: 'final report', amount: '250' };
    const created = await sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', {
        grantId: approvalGrantId,
        granteeId: lab.id,
        milestones: [
          {
            ...report,
            deadline: new Date(Date.now() + 30_000).toISOString(),
            check: { kind: 'sponsor_approval' },
          },
        ],
      }),
    );
    expect(created.status).toBe(201);
    const grant = () => sponsor.client.get<GrantStatus>(`/grants/${approvalGrantId}`);
    const scope = (await waitFor(grant, (s) => s.stage === 'active')).scope!;
    const labBefore = await test.deployment.ledger.balanceOf(lab.id);
    const handle = test.temporal.workflow.getHandle(grantWorkflowId(approvalGrantId));
    const evidenceOf = (request: unknown) =>
      updateRefusal(handle.executeUpdate(submitEvidenceUpdate, { args: [request as never] }));
    const approvalOf = (request: unknown) =>
      updateRefusal(handle.executeUpdate(approveMilestoneUpdate, { args: [request as never] }));

    // Plain strings, as the operator could send them before decisions were signed.
    const ref = evidenceRef('the final report');
    expect(await evidenceOf({ by: lab.id, milestoneId: 'report', ref })).toMatch(/not signed/);
    expect(await approvalOf({ by: sponsor.id, milestoneId: 'report' })).toMatch(/not signed/);
    // Evidence in the grantee's name under another registered key: refused by the coordinator.
    const forgedEvidence = signedBy(
      test,
      'auditor',
      scope,
      'grant_evidence',
      { milestoneId: 'report', ref },
      {
        principal: lab.id,
      },
    );
    expect(await evidenceOf({ signed: forgedEvidence })).toMatch(/the signature is not lab's/);

    // With the grantee's genuine evidence in, every approval but the sponsor's own for this run fails.
    await submitGrantEvidence(lab.client, approvalGrantId, 'report', 'the final report');
    // The grantee approving its own milestone through the API: the workflow refuses it, typed Forbidden.
    await expect(approveMilestone(lab.client, approvalGrantId, 'report')).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
      reason: `the decision was signed as ${lab.id}'s; ${sponsor.id} must sign it`,
    });
    expect((await grant()).milestones[0]).toMatchObject({ stage: 'open' });
    const approval = { milestoneId: 'report' };
    const sponsorSigns = (over: typeof scope, notAfter?: number) =>
      signedBy(test, 'sponsor', over, 'milestone_approval', approval, notAfter ? { notAfter } : {});
    const byLab = signedBy(test, 'lab', scope, 'milestone_approval', approval, { principal: sponsor.id });
    expect(await approvalOf({ signed: byLab })).toMatch(/the signature is not sponsor's/);
    const refusalType = (attempt: Promise<unknown>) =>
      attempt.then(
        () => 'accepted',
        (error: { cause?: { type?: string } }) => error.cause?.type,
      );
    expect(
      await refusalType(handle.executeUpdate(approveMilestoneUpdate, { args: [{ signed: byLab }] })),
    ).toBe('DecisionInvalid');
    expect(await approvalOf({ signed: sponsorSigns({ ...scope, runId: 'an-earlier-run' }) })).toMatch(
      /signed for run an-earlier-run/,
    );
    const otherGrant = { ...scope, subject: { id: grantId, termsHash: scope.subject.termsHash } };
    expect(await approvalOf({ signed: sponsorSigns(otherGrant) })).toMatch(/signed about/);
    expect(await approvalOf({ signed: sponsorSigns(scope, Date.now() - 1) })).toMatch(/expired/);

    const ended = await waitFor(grant, (s) => s.stage === 'ended');
    expect(ended.milestones[0]).toMatchObject({ stage: 'missed' });
    expect(ended.refunded).toBe('250');
    expect(await test.deployment.ledger.balanceOf(lab.id)).toBe(labBefore);
  });

  it('shows the public its progress as counts only, without a signature', async () => {
    const response = await fetch(`${test.deployment.apiUrl}/public/grants/${grantId}/progress`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      grantId,
      stage: 'ended',
      milestonesMet: 1,
      milestonesTotal: 2,
      percentMet: 50,
    });
  });

  it('only met / not met left the perimeter, and the recorded history replays', async () => {
    const history = await test.temporal.workflow.getHandle(grantWorkflowId(grantId)).fetchHistory();
    // Payloads are encrypted in the history: read them as the workers do, through the codec.
    const results = await test.codec.decode(
      (history.events ?? []).flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
    );
    const checks = results
      .map(({ data }) => JSON.parse(Buffer.from(data ?? new Uint8Array()).toString() || 'null') as unknown)
      .filter(
        (result): result is Record<string, unknown> =>
          typeof result === 'object' && result !== null && 'met' in result,
      );
    expect(checks).toHaveLength(2);
    for (const result of checks) {
      // The verdict, its statement's hash, and the perimeter's signed release statement of that verdict:
      // ids, hashes, ε and the same bit, never a count or a threshold.
      expect(Object.keys(result).sort()).toEqual(['met', 'release', 'statementHash']);
      const { body } = result.release as { body: Record<string, unknown> & { subject: { met: boolean } } };
      expect(Object.keys(body).sort()).toEqual(
        [
          'commitment',
          'datasetPolicy',
          'dealId',
          'deltaCharged',
          'epsilonCharged',
          'kind',
          'sellerId',
          'subject',
          'termsHash',
          'type',
        ].sort(),
      );
      expect(Object.keys(body.subject).sort()).toEqual(['checkId', 'met', 'milestoneId']);
      expect(body.subject.met).toBe(result.met);
      expect(body.commitment).toBe(result.statementHash);
    }
    await replay(test, grantWorkflowId(grantId));
  });
});
