import type { Client } from '@temporalio/client';
import type { Party } from '../../lib/parties';
import type { SignedDecision } from '../../lib/signed-decision';
import { disclosureStatusQuery, recordBundleExportUpdate } from '../../workflows/disclosure/workflow';
import type { DisclosableField, DisclosureStatus } from '../../workflows/disclosure/shapes';
import { disclosureWorkflowId } from '../../lib/ids/workflow-ids';
import { ApiError } from '../errors';
import { signedByParty, type ExportProof } from '../signed-decision';
import { WorkflowCalls } from '../workflow-calls';

/** A bundle shows both hidden fields: a disclosure must cover both to hand one over. */
const BUNDLE_FIELDS: DisclosableField[] = ['parties', 'amount'];

/**
 * An auditor receives a deal's whole bundle only through an approved disclosure of that deal that
 * names it and covers parties and amounts, while the disclosure's view is open — the same gate as
 * `GET /disclosures/:id/view`. Open disclosures are found through Temporal's visibility, then read
 * from their workflows (the visibility row is only an index; the workflow's state decides).
 */
async function openDisclosureOf(temporal: Client, auditor: Party, dealId: string): Promise<DisclosureStatus> {
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

/** An approved disclosure the auditor may export the deal's bundle under, and its signed export. */
export interface BundleExport {
  disclosure: DisclosureStatus;
  signed: SignedDecision<{ nonce: string }>;
}

/**
 * The disclosure the auditor named and its signed export of the deal's bundle (action
 * `bundle_export`, over the disclosure's run and subject). Without one, the auditor is told which
 * disclosure to export under, or how to get one. The workflow and its coordinator check the export
 * again before it is recorded; this only gives a clear 4xx early.
 */
export async function approvedDisclosure(
  temporal: Client,
  auditor: Party,
  dealId: string,
  proof: ExportProof,
): Promise<BundleExport> {
  const { disclosureId, nonce, notAfter, signature } = proof;
  if (disclosureId === undefined) {
    const usable = await openDisclosureOf(temporal, auditor, dealId);
    throw new ApiError(
      'forbidden',
      `the auditor signs each export of a bundle: tusk audit bundle ${dealId} --disclosure ${usable.disclosureId} (the SDK's exportDealBundle)`,
    );
  }
  if (nonce === undefined || notAfter === undefined || signature === undefined)
    throw new ApiError(
      'invalid_request',
      'a signed export takes notAfter, nonce and signature with its disclosureId',
    );
  const disclosure = await new WorkflowCalls(temporal).query(
    disclosureWorkflowId(disclosureId),
    disclosureStatusQuery,
    `disclosure ${disclosureId}`,
  );
  if (disclosure.dealId !== dealId || disclosure.auditorId !== auditor.id)
    throw new ApiError('forbidden', `disclosure ${disclosureId} is not ${auditor.id}'s of deal ${dealId}`);
  if (!BUNDLE_FIELDS.every((field) => disclosure.fields.includes(field)))
    throw new ApiError('forbidden', `disclosure ${disclosureId} does not cover parties and amount`);
  if (disclosure.stage !== 'approved' || (disclosure.viewUntil ?? 0) <= Date.now())
    throw new ApiError('forbidden', `disclosure ${disclosureId} is ${disclosure.stage}, not open to view`);
  const signed = signedByParty(
    auditor,
    disclosure.scope,
    'bundle_export',
    { nonce },
    { notAfter, signature },
  );
  return { disclosure, signed };
}

/** The export is recorded in the disclosure's audit trail before the bundle leaves, like a view. */
export async function recordBundleView(
  temporal: Client,
  { disclosure, signed }: BundleExport,
  bundleDigest: string,
): Promise<void> {
  try {
    await temporal.workflow
      .getHandle(disclosureWorkflowId(disclosure.disclosureId))
      .executeUpdate(recordBundleExportUpdate, { args: [{ signed, valuesHash: bundleDigest }] });
  } catch {
    // The view closed between the check and the record: nothing leaves unrecorded.
    throw new ApiError('forbidden', `the view of disclosure ${disclosure.disclosureId} has ended`);
  }
}
