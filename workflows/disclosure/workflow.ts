import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { CoordinatorActivities } from '../../activities/coordinator/activities';
import { coordinatorRecord } from '../activity-options';
import { asRefusal, verifiedVoter } from '../verified-decision';
import {
  DisclosureState,
  type DisclosureDecision,
  type DisclosureInput,
  type DisclosureStatus,
} from './state';

export interface DecideDisclosureRequest {
  principal: string;
  decision: DisclosureDecision;
  /** The principal's Ed25519 signature over (this workflow's id, decision): lib/signed-decision. */
  signature: string;
}
export interface RecordViewRequest {
  viewer: string;
  valuesHash: string;
}

export const disclosureStatusQuery = defineQuery<DisclosureStatus>('disclosureStatus');
export const decideDisclosureUpdate = defineUpdate<DisclosureStatus, [DecideDisclosureRequest]>(
  'decideDisclosure',
);
/** The API records each view before it shows the fields: the audit record exists before the disclosure. */
export const recordViewUpdate = defineUpdate<DisclosureStatus, [RecordViewRequest]>('recordDisclosureView');

/**
 * An auditor's request to see one deal's hidden fields, with a reason: two distinct principals
 * approve, the view stays open for a limited time, and the audit record says who saw what, when.
 */
export async function disclosure(input: DisclosureInput): Promise<DisclosureStatus> {
  const state = new DisclosureState(input, Date.now());
  setHandler(disclosureStatusQuery, () => state.snapshot());
  setHandler(
    decideDisclosureUpdate,
    async ({ principal, decision, signature }) => {
      const voter = await verifiedVoter(principal, decision, signature);
      asRefusal(() => state.decide(voter, decision, input.viewMs, Date.now()));
      return state.snapshot();
    },
    {
      validator: ({ principal, decision }: DecideDisclosureRequest) =>
        state.assertCanDecide({ principal }, decision),
    },
  );
  setHandler(
    recordViewUpdate,
    ({ viewer, valuesHash }) => {
      state.recordView(viewer, valuesHash, Date.now());
      return state.snapshot();
    },
    { validator: ({ viewer }: RecordViewRequest) => state.assertCanView(viewer, Date.now()) },
  );

  for (let deadline = state.nextDeadline(); deadline !== undefined; deadline = state.nextDeadline()) {
    const seen = state.changes;
    await condition(() => state.changes !== seen, Math.max(1, deadline - Date.now()));
    state.tick(Date.now());
  }
  await condition(allHandlersFinished);

  const coordinator = proxyActivities<CoordinatorActivities>({
    taskQueue: 'coordinator',
    ...coordinatorRecord,
  });
  state.recordAuditRef(
    await coordinator.storeAuditRecord({
      kind: 'disclosure',
      subject: input.disclosureId,
      events: state.snapshot().audit,
    }),
  );
  return state.snapshot();
}
