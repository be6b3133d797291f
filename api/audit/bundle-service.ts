import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import { bundleDigest, type BundleBody, type SignedBundle } from '../../audit/bundle';
import { callsOfSubject, subjectInput } from '../../audit/deal-facts';
import { allPayloadValues, readHistory } from '../../audit/history-json';
import { ledgerLinesOf } from '../../audit/ledger-lines';
import type { SignedReceipt } from '../../audit/receipt';
import { signDocument } from '../../lib/transparency/signed-document';
import { escrowsOf, pinnedTemplates, subjectKey, type AuditSubject } from '../../audit/subject';
import { workflowCodeIdentity } from '../../audit/workflow-code';
import type { Party, PartyRegistry } from '../../lib/parties';
import { readSignedTemplate } from '../../query-policies/template-files';
import { ApiError } from '../errors';
import { viewOf } from '../redaction';
import { approvedDisclosure, recordBundleView, type BundleExport } from './auditor-access';
import type { ExportProof } from '../signed-decision';
import { subjectRuns, type RecordedRun } from './deal-histories';
import type { AuditConfig, ReceiptService } from './receipt-service';

const BLOB_REF = /sha256:[0-9a-f]{64}/g;

/**
 * Audit bundles of finished deals, subscription periods, grants and disclosures. A bundle holds the
 * decoded histories, which name the parties and the amounts: the redaction rules give it whole to
 * the subject's parties and the operator; to an auditor through an approved disclosure of the deal
 * that names it (the export is recorded in the disclosure's trail); a disclosure's own bundle to the
 * auditor who asked, compliance and the operator, as its status is.
 */
export class BundleService {
  constructor(
    private readonly temporal: Client,
    private readonly blobs: BlobStore,
    private readonly parties: PartyRegistry,
    private readonly policiesRoot: string,
    private readonly receipts: ReceiptService,
    private readonly config: AuditConfig,
  ) {}

  async bundleFor(party: Party, subject: AuditSubject, proof: ExportProof = {}): Promise<SignedBundle> {
    const runs = await subjectRuns(this.temporal, this.config.codec, subject);
    const key = subjectKey(subject);
    const receipt = subject.kind === 'disclosure' ? undefined : await this.receipts.receiptOf(subject, runs);
    const { dealParties, disclosure } = await this.access(party, subject, runs, receipt, proof);
    const receiptIndex = receipt && this.config.log.documentFor(key, 'receipt')!.leafIndex;
    const body: BundleBody = {
      type: 'tusk.audit-bundle/v1',
      subject,
      dealId: key,
      exportedAt: new Date().toISOString(),
      exportedFor: party.id,
      workflowCode: await workflowCodeIdentity(),
      runs,
      parties: this.partiesNamedIn(runs, dealParties),
      templates: await this.templatesOf(runs),
      ...(receipt && receiptIndex !== undefined
        ? { receipt, receiptInclusion: this.config.log.inclusion(receiptIndex, this.config.log.size()) }
        : {}),
      settlement: await this.ledgerOf(subject, runs),
      blobs: await this.blobsNamedIn(subject, runs),
    };
    const bundle = signDocument(this.config.signer, body);
    if (disclosure) await recordBundleView(this.temporal, disclosure, bundleDigest(bundle));
    this.config.log.append(
      { type: 'tusk.log-entry/v1', kind: 'audit-bundle', dealId: key, digest: bundleDigest(bundle) },
      { digest: bundleDigest(bundle), exportedFor: party.id },
    );
    return bundle;
  }

  /** Who may have this bundle (see the class comment); the disclosure that let an auditor in. */
  private async access(
    party: Party,
    subject: AuditSubject,
    runs: RecordedRun[],
    receipt: SignedReceipt | undefined,
    proof: ExportProof,
  ): Promise<{ dealParties: string[]; disclosure?: BundleExport }> {
    const key = subjectKey(subject);
    if (subject.kind === 'disclosure') {
      const { auditorId } = subjectInput(runs) as { auditorId: string };
      const last = runs.filter((r) => r.workflowId === runs[0]!.workflowId).at(-1)!;
      if (readHistory(last.history).result === undefined)
        throw new ApiError(
          'invalid_state',
          `disclosure ${subject.disclosureId} is still open: no bundle yet`,
        );
      if (party.role !== 'operator' && party.role !== 'compliance' && party.id !== auditorId)
        throw new ApiError('forbidden', `${party.id} may not see disclosure ${subject.disclosureId}`);
      return { dealParties: [auditorId] };
    }
    const named = receipt?.openings?.parties?.value;
    const dealParties = named ? [named.buyer, ...named.sellers] : [];
    if (viewOf(party, dealParties, key) === 'whole') return { dealParties };
    if (party.role === 'auditor' && subject.kind === 'deal')
      return {
        dealParties,
        disclosure: await approvedDisclosure(this.temporal, party, subject.dealId, proof),
      };
    throw new ApiError(
      'forbidden',
      `an audit bundle names the parties and amounts of ${key}: its parties and the operator receive it; an auditor sees the sealed receipt and the log, and a deal's bundle through an approved disclosure`,
    );
  }

  /** Registered parties the histories name anywhere: sellers, buyers, approving principals. */
  private partiesNamedIn(runs: RecordedRun[], dealParties: string[]): BundleBody['parties'] {
    const text = JSON.stringify(runs.map((r) => allPayloadValues(r.history)));
    const named = this.parties.all().filter((p) => dealParties.includes(p.id) || text.includes(`"${p.id}"`));
    return named.map(({ id, role, publicKey }) => ({ id, role, publicKey }));
  }

  /** Each template the subject pins, as its seller signed it. */
  private async templatesOf(runs: RecordedRun[]): Promise<BundleBody['templates']> {
    const templates: BundleBody['templates'] = [];
    for (const pinned of pinnedTemplates(runs[0]!.workflowType, subjectInput(runs))) {
      const files = await readSignedTemplate(
        join(this.policiesRoot, pinned.sellerId),
        pinned.templateId,
      ).catch(() => undefined);
      if (files)
        templates.push({ sellerId: pinned.sellerId, template: files.template, signature: files.signature });
    }
    return templates;
  }

  private async ledgerOf(subject: AuditSubject, runs: RecordedRun[]): Promise<BundleBody['settlement']> {
    const { settlement } = this.config;
    if (settlement.adapter !== 'local-ledger') return { adapter: settlement.adapter, ledgerLines: [] };
    const lines = await ledgerLinesOf(settlement.ledgerFile, escrowsOf(subject, subjectInput(runs)));
    return { adapter: 'local-ledger', ledgerLines: lines.map(({ line, text }) => ({ line, text })) };
  }

  /** The sealed results and audit trails the subject's calls name, when the blob store holds them. */
  private async blobsNamedIn(subject: AuditSubject, runs: RecordedRun[]): Promise<BundleBody['blobs']> {
    const refs = new Set<string>();
    for (const call of callsOfSubject(subject, runs))
      for (const ref of JSON.stringify(call.result ?? null).match(BLOB_REF) ?? []) refs.add(ref);
    const blobs: BundleBody['blobs'] = [];
    for (const ref of refs)
      if (await this.blobs.has(ref))
        blobs.push({ ref, base64: (await this.blobs.get(ref)).toString('base64') });
    return blobs;
  }
}
