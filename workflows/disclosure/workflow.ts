import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  patched,
  setHandler,
} from '@temporalio/workflow';
import { coordinatorCheck, coordinatorRecord } from '../activity-options';
import type { ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, verifiedSigner } from '../verified-decision';
import {
  DisclosureState,
  type DisclosureDecisionContent,
  type DisclosureInput,
  type DisclosureStatus,
} from './state';
import { coordinatorActivities } from '../activity-proxies';
import { refusal } from '../refusals';
import { disclosureInput } from './shapes';
import { checkWorkflowInput } from '../workflow-input';

export interface DecideDisclosureRequest {
  /** A compliance principal's signed decision on this run (lib/signed-decision.ts). */
  signed: SignedDecision<DisclosureDecisionContent>;
}
export interface RecordViewRequest {
  /** The auditor's signed request to view, once (its nonce), on this run. */
  signed: SignedDecision<{ nonce: string }>;
  valuesHash: string;
}

/** The hash of the deal's terms as its buyer signed them, read and checked by the coordinator. */
function signedSubjectHash(input: DisclosureInput): Promise<string> {
  return coordinatorActivities(coordinatorCheck).signedSubjectHash({ dealId: input.dealId });
}

export const disclosureStatusQuery = defineQuery<DisclosureStatus>('disclosureStatus');
export const decideDisclosureUpdate = defineUpdate<DisclosureStatus, [DecideDisclosureRequest]>(
  'decideDisclosure',
);
/** The API records each view before it shows the fields: the audit record exists before the disclosure. */
export const recordViewUpdate = defineUpdate<DisclosureStatus, [RecordViewRequest]>('recordDisclosureView');
/**
 * An audit bundle handed to the auditor under this disclosure, recorded before it leaves: the
 * auditor's signed export (action `bundle_export`, on this run, used once by its nonce) and the
 * bundle's digest. Runs from before exports were signed recorded `{ viewer, valuesHash }` instead;
 * that shape replays, and is refused when sent live.
 */
export interface RecordBundleExportRequest {
  signed: SignedDecision<{ nonce: string }>;
  valuesHash: string;
}
interface LegacyBundleExport {
  viewer: string;
  valuesHash: string;
}
export const recordBundleExportUpdate = defineUpdate<DisclosureStatus, [RecordBundleExportRequest]>(
  'recordDisclosureBundleExport',
);

/**
 * An auditor's request to see one deal's hidden fields, with a reason: two distinct principals
 * approve, the view stays open for a limited time, and the audit record says who saw what, when.
 * Every decision is bound to this run and to the hash of the deal's terms as its buyer signed them,
 * which the coordinator checks and computes before any decision counts.
 */
export async function disclosure(input: DisclosureInput): Promise<DisclosureStatus> {
  checkWorkflowInput(disclosureInput, input, 'disclosure');
  // Live patch `disclosure-subject-from-signed-terms` (deployed 2026-12-07): runs started before it
  // carried the terms hash alone and replay it; new runs take it from the buyer's signed terms.
  const fromSignedTerms = patched('disclosure-subject-from-signed-terms');
  const state = new DisclosureState(
    input,
    fromSignedTerms ? undefined : scopeOf({ id: input.dealId, termsHash: String(input.termsHash) }),
    Date.now(),
  );
  // What a decision must say: approve or deny these very fields, for this auditor, on this run.
  const expectedDecision = ({ statement }: SignedDecision<DisclosureDecisionContent>): ExpectedDecision => ({
    scope: state.scope,
    action: 'disclosure_decision',
    content: { decision: statement.content?.decision, fields: input.fields, auditorId: input.auditorId },
  });
  const expectedByAuditor =
    (action: 'disclosure_view' | 'bundle_export') =>
    ({ statement }: SignedDecision<{ nonce: string }>): ExpectedDecision => ({
      scope: state.scope,
      action,
      principal: input.auditorId,
      content: { nonce: String(statement.content?.nonce) },
    });
  const expectedView = expectedByAuditor('disclosure_view');
  const expectedExport = expectedByAuditor('bundle_export');
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
    async (request: RecordBundleExportRequest | LegacyBundleExport) => {
      if (!('signed' in request)) {
        // Replay only: the validator refuses this shape on any live update.
        state.recordBundleExport(request.viewer, request.valuesHash, Date.now());
        return state.snapshot();
      }
      const { signed, valuesHash } = request;
      const viewer = await verifiedSigner(signed, expectedExport(signed));
      asRefusal(() =>
        state.recordBundleExport(viewer.principal, valuesHash, Date.now(), signed.statement.content.nonce),
      );
      return state.snapshot();
    },
    {
      validator: (request: RecordBundleExportRequest | LegacyBundleExport) => {
        if (!('signed' in request))
          throw refusal('DecisionInvalid', 'the export is not signed: the auditor signs each bundle export');
        const { signed } = request;
        assertDecides(signed, expectedExport(signed));
        state.assertCanExport(signed.statement.principal, Date.now(), signed.statement.content.nonce);
      },
    },
  );
  if (fromSignedTerms) {
    const termsHash = await signedSubjectHash(input).catch((error: unknown) => {
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      throw cause instanceof ApplicationFailure
        ? ApplicationFailure.nonRetryable(cause.message, cause.type)
        : error;
    });
    state.setScope(scopeOf({ id: input.dealId, termsHash }));
  }

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
