import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party, terminateRunning, waitFor } from './lifecycle-harness';
import { submitGrantEvidence } from '../../lib/signed-actions';

const COHORT = { min_age: 30, max_age: 50, sex: 'F' };

/**
 * A sponsor probing the data through milestone checks: thresholds it never expects to be met, checked
 * again and again, over several milestones. Every milestone's run is charged at its first check, met
 * or not; a run answers a bounded number of checks; and probing stops at the sponsor's budget.
 */
describe('milestone probing', () => {
  let test: TestDeployment;
  let sponsor: PartyIdentity;
  let lab: PartyIdentity;
  const grantId = `grant-${crypto.randomUUID()}`;

  beforeAll(async () => {
    test = await startTestDeployment(
      'probing',
      async (seller) => {
        await seller.publishDemoTemplate({ milestones: { epsilon: 4, maxChecks: 2 } });
        await seller.publishDatasetPolicy({
          patients: {
            windowDays: 30,
            total: { epsilon: 100, delta: 1e-5 },
            perBuyer: { epsilon: 10, delta: 1e-6 },
          },
        });
      },
      { parties: LIFECYCLE_PARTIES },
    );
    sponsor = party(test, 'sponsor');
    lab = party(test, 'lab');
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, [grantWorkflowId(grantId)]);
    await test?.close();
  });

  const status = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
  const checked = (milestoneId: string, checks: number) =>
    waitFor(status, (s) => {
      const milestone = s.milestones.find((m) => m.milestoneId === milestoneId)!;
      return milestone.stage !== 'checking' && milestone.evidence.length === checks && !!milestone.lastCheck;
    });
  const evidence = async (milestoneId: string, checks: number) => {
    await submitGrantEvidence(lab.client, grantId, milestoneId, `probe ${checks} of ${milestoneId}`);
    return (await checked(milestoneId, checks)).milestones.find((m) => m.milestoneId === milestoneId)!;
  };

  it('charges every milestone run, bounds its checks, and stops at the budget', async () => {
    const { templates } = await sponsor.client.get<{ templates: { id: string; hash: string }[] }>(
      '/templates',
    );
    const deadline = new Date(Date.now() + 600_000).toISOString();
    const probe = (milestoneId: string) => ({
      milestoneId,
      name: `probe ${milestoneId}`,
      amount: '100',
      deadline,
      check: {
        kind: 'query',
        templateId: templates[0]!.id,
        templateHash: templates[0]!.hash,
        parameters: COHORT,
        metric: 'patients',
        threshold: 1e9,
      },
    });
    const created = await sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', { grantId, granteeId: lab.id, milestones: ['a', 'b', 'c'].map(probe) }),
    );
    expect(created.status).toBe(201);
    await waitFor(status, (s) => s.stage === 'active');

    // Milestone a: its first check costs ε = 4 though it is not met; its second is inside the same run.
    expect((await evidence('a', 1)).lastCheck).toMatchObject({ met: false });
    expect((await evidence('a', 2)).lastCheck).toMatchObject({ met: false });
    expect((await evidence('a', 3)).lastCheck).toMatchObject({
      met: false,
      problem: 'MilestoneChecksExhausted',
    });
    // Milestone b: another run, another ε = 4 (8 of 10 spent).
    expect((await evidence('b', 1)).lastCheck).toMatchObject({ met: false });
    // Milestone c would take the sponsor to 12: refused before any data is read.
    expect((await evidence('c', 1)).lastCheck).toMatchObject({ met: false, problem: 'BudgetExhausted' });
  });
});
