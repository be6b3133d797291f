import { allHandlersFinished, condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import { coordinatorRecord } from '../activity-options';
import type { ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, verifiedSigner } from '../verified-decision';
import {
  DisclosureState,
  type DisclosureDecisionContent,
  type DisclosureInput,
  type DisclosureStatus,
} from './state';
import { coordinatorActivities } from '../activity-proxies';

export interface DecideDisclosureRequest {
  /** A compliance principal's signed decision on this run (lib/signed-decision.ts). */
  signed: SignedDecision<DisclosureDecisionContent>;
}
export interface RecordViewRequest {
  /** The auditor's signed request to view, once (its nonce), on this run. */
  signed: SignedDecision<{ nonce: string }>;
  valuesHash: string;
}

export const disclosureStatusQuery = defineQuery<DisclosureStatus>('disclosureStatus');
export const decideDisclosureUpdate = defineUpdate<DisclosureStatus, [DecideDisclosureRequest]>(
  'decideDisclosure',
);
/** The API records each view before it shows the fields: the audit record exists before the disclosure. */
export const recordViewUpdate = defineUpdate<DisclosureStatus, [RecordViewRequest]>('recordDisclosureView');
/**
 * An audit bundle handed to the auditor under this disclosure, recorded before it leaves. Not signed
 * by the auditor yet (the bundle route takes no signed view); it is recorded apart from signed views.
 */
export interface RecordBundleExportRequest {
  viewer: string;
  valuesHash: string;
}
export const recordBundleExportUpdate = defineUpdate<DisclosureStatus, [RecordBundleExportRequest]>(
  'recordDisclosureBundleExport',
);

/**
 * An auditor's request to see one deal's hidden fields, with a reason: two distinct principals
 * approve, the view stays open for a limited time, and the audit record says who saw what, when.
 */
export async function disclosure(input: DisclosureInput): Promise<DisclosureStatus> {
  const scope = scopeOf({ id: input.dealId, termsHash: input.termsHash });
  const state = new DisclosureState(input, scope, Date.now());
  // What a decision must say: approve or deny these very fields, for this auditor, on this run.
  const expectedDecision = ({ statement }: SignedDecision<DisclosureDecisionContent>): ExpectedDecision => ({
    scope,
    action: 'disclosure_decision',
    content: { decision: statement.content?.decision, fields: input.fields, auditorId: input.auditorId },
  });
  const expectedView = ({ statement }: SignedDecision<{ nonce: string }>): ExpectedDecision => ({
    scope,
    action: 'disclosure_view',
    principal: input.auditorId,
    content: { nonce: String(statement.content?.nonce) },
  });
  setHandler(disclosureStatusQuery, () => state.snapshot());
  setHandler(
    decideDisclosureUpdate,
    async ({ signed }) => {
      const voter = await verifiedSigner(signed, expectedDecision(signed), ['compliance']);
      asRefusal(() => state.decide(voter, signed.statement.content.decision, input.viewMs, Date.now()));
      return state.snapshot();
    },
    {
      validator: ({ signed }: DecideDisclosureRequest) => {
        assertDecides(signed, expectedDecision(signed));
        state.assertCanDecide({ principal: signed.statement.principal }, signed.statement.content.decision);
      },
    },
  );
  setHandler(
    recordViewUpdate,
    async ({ signed, valuesHash }) => {
      const viewer = await verifiedSigner(signed, expectedView(signed));
      asRefusal(() =>
        state.recordView(viewer.principal, valuesHash, signed.statement.content.nonce, Date.now()),
      );
      return state.snapshot();
    },
    {
      validator: ({ signed }: RecordViewRequest) => {
        assertDecides(signed, expectedView(signed));
        state.assertCanView(signed.statement.principal, Date.now(), signed.statement.content.nonce);
      },
    },
  );
  setHandler(
    recordBundleExportUpdate,
    ({ viewer, valuesHash }) => {
      state.recordBundleExport(viewer, valuesHash, Date.now());
      return state.snapshot();
    },
    { validator: ({ viewer }: RecordBundleExportRequest) => state.assertCanView(viewer, Date.now()) },
  );

  for (let deadline = state.nextDeadline(); deadline !== undefined; deadline = state.nextDeadline()) {
    const seen = state.changes;
    await condition(() => state.changes !== seen, Math.max(1, deadline - Date.now()));
    state.tick(Date.now());
  }
  await condition(allHandlersFinished);

  const coordinator = coordinatorActivities(coordinatorRecord);
  state.recordAuditRef(
    await coordinator.storeAuditRecord({
      kind: 'disclosure',
      subject: input.disclosureId,
      events: state.snapshot().audit,
    }),
  );
  return state.snapshot();
}
