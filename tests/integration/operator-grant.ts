import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantStatusQuery, milestoneGrant } from '../../workflows/grant/workflow';
import type { TestDeployment } from './harness';
import { party, waitFor } from './lifecycle-harness';

/**
 * A one-milestone grant (approval checked) that the sponsor signed, started by the operator straight
 * on Temporal as the API would, and waited for until active: the ground for attacks on its decisions.
 */
export async function startSignedGrant(
  test: TestDeployment,
  grant: { grantId: string; sponsorId: string; granteeId: string; deadline: number; amount: string },
) {
  const milestone = { milestoneId: 'report', name: 'report', amount: grant.amount };
  const check = { kind: 'sponsor_approval' as const };
  const terms = party(test, grant.sponsorId).client.signTerms('grant', {
    grantId: grant.grantId,
    granteeId: grant.granteeId,
    milestones: [{ ...milestone, check, deadline: new Date(grant.deadline).toISOString() }],
  });
  const handle = await test.temporal.workflow.start(milestoneGrant, {
    taskQueue: DEALS_TASK_QUEUE,
    workflowId: grantWorkflowId(grant.grantId),
    args: [
      {
        grantId: grant.grantId,
        sponsorId: grant.sponsorId,
        granteeId: grant.granteeId,
        feeBps: Number(terms.body.feeBps),
        milestones: [{ ...milestone, check, deadline: grant.deadline }],
        terms,
      },
    ],
  });
  const active = await waitFor(
    () => handle.query(grantStatusQuery),
    (s: GrantStatus) => s.stage === 'active',
  );
  return { terms, handle, active };
}
