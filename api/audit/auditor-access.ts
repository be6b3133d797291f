import type { Client } from '@temporalio/client';
import type { Party } from '../../lib/parties';
import { disclosureStatusQuery, recordBundleExportUpdate } from '../../workflows/disclosure/workflow';
import type { DisclosableField, DisclosureStatus } from '../../workflows/disclosure/state';
import { disclosureWorkflowId } from '../../workflows/workflow-ids';
import { ApiError } from '../errors';

/** A bundle shows both hidden fields: a disclosure must cover both to hand one over. */
const BUNDLE_FIELDS: DisclosableField[] = ['parties', 'amount'];

/**
 * An auditor receives a deal's whole bundle only through an approved disclosure of that deal that
 * names it and covers parties and amounts, while the disclosure's view is open — the same gate as
 * `GET /disclosures/:id/view`. Open disclosures are found through Temporal's visibility, then read
 * from their workflows (the visibility row is only an index; the workflow's state decides).
 */
export async function approvedDisclosure(
  temporal: Client,
  auditor: Party,
  dealId: string,
): Promise<DisclosureStatus> {
  const open: DisclosureStatus[] = [];
  const query = `WorkflowType = 'disclosure' AND ExecutionStatus = 'Running'`;
  for await (const execution of temporal.workflow.list({ query })) {
    const status = await temporal.workflow
      .getHandle(execution.workflowId)
      .query(disclosureStatusQuery)
      .catch(() => undefined);
    if (status?.dealId === dealId && status.auditorId === auditor.id) open.push(status);
  }
  const now = Date.now();
  const usable = open.find(
    (d) =>
      d.stage === 'approved' &&
      (d.viewUntil ?? 0) > now &&
      BUNDLE_FIELDS.every((field) => d.fields.includes(field)),
  );
  if (usable) return usable;
  const pending = open.find((d) => d.stage === 'pending');
  throw new ApiError(
    'forbidden',
    pending
      ? `disclosure ${pending.disclosureId} of deal ${dealId} is pending: the bundle is yours once two compliance principals approve it`
      : `an audit bundle names the parties and amounts of deal ${dealId}: request a disclosure of parties and amount (tusk auditor disclosure request ${dealId} --reason ...); once two compliance principals approve it, the bundle is yours while its view is open`,
  );
}

/** The export is recorded in the disclosure's audit trail before the bundle leaves, like a view. */
export async function recordBundleView(
  temporal: Client,
  disclosure: DisclosureStatus,
  viewer: string,
  bundleDigest: string,
): Promise<void> {
  try {
    await temporal.workflow
      .getHandle(disclosureWorkflowId(disclosure.disclosureId))
      .executeUpdate(recordBundleExportUpdate, { args: [{ viewer, valuesHash: bundleDigest }] });
  } catch {
    // The view closed between the check and the record: nothing leaves unrecorded.
    throw new ApiError('forbidden', `the view of disclosure ${disclosure.disclosureId} has ended`);
  }
}
