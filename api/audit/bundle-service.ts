import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import { bundleDigest, type BundleBody, type SignedBundle } from '../../lib/audit/bundle';
import { readHistory } from '../../lib/audit/history-json';
import { ledgerLinesFor } from '../../lib/audit/ledger-lines';
import { signDocument } from '../../lib/audit/signed-document';
import { workflowCodeIdentity } from '../../lib/audit/workflow-code';
import type { Party, PartyRegistry } from '../../lib/parties';
import { readSignedTemplate } from '../../query-policies/template-files';
import { ApiError } from '../errors';
import { viewOf } from '../redaction';
import { dealRuns } from './deal-histories';
import type { AuditConfig, ReceiptService } from './receipt-service';
import { dealEscrowId } from '../../activities/settlement/types';

const BLOB_REF = /sha256:[0-9a-f]{64}/g;

/**
 * Audit bundles of finished deals. A bundle holds the decoded histories, which name the parties and
 * the amounts: the redaction rules give it whole to the deal's parties and the operator only. An
 * auditor checks the receipt and the log with the sealed receipt, and reads a bundle's hidden fields
 * only through an approved disclosure.
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

  async bundleFor(party: Party, dealId: string): Promise<SignedBundle> {
    const runs = await dealRuns(this.temporal, this.config.codec, dealId);
    const receipt = await this.receipts.receiptOf(dealId, runs);
    const named = receipt.openings?.parties?.value;
    const dealParties = named ? [named.buyer, ...named.sellers] : [];
    if (viewOf(party, dealParties, `deal ${dealId}`) !== 'whole')
      throw new ApiError(
        'forbidden',
        `an audit bundle names the parties and amounts of deal ${dealId}: its parties and the operator receive it; an auditor sees the sealed receipt and the log, and hidden fields through an approved disclosure`,
      );
    const receiptIndex = this.config.log.documentFor(dealId, 'receipt')!.leafIndex;
    const body: BundleBody = {
      type: 'tusk.audit-bundle/v1',
      dealId,
      exportedAt: new Date().toISOString(),
      exportedFor: party.id,
      workflowCode: await workflowCodeIdentity(),
      runs,
      parties: this.partiesNamedIn(runs, dealParties),
      templates: await this.templatesOf(runs),
      receipt,
      receiptInclusion: this.config.log.inclusion(receiptIndex, this.config.log.size()),
      settlement: await this.ledgerOf(dealId),
      blobs: await this.blobsNamedIn(runs),
    };
    const bundle = signDocument(this.config.signer, body);
    this.config.log.append(
      { type: 'tusk.log-entry/v1', kind: 'audit-bundle', dealId, digest: bundleDigest(bundle) },
      { digest: bundleDigest(bundle), exportedFor: party.id },
    );
    return bundle;
  }

  private partiesNamedIn(runs: { history: unknown }[], dealParties: string[]): BundleBody['parties'] {
    const text = JSON.stringify(runs.map((r) => readHistory(r.history as never).activities));
    const named = this.parties.all().filter((p) => dealParties.includes(p.id) || text.includes(`"${p.id}"`));
    return named.map(({ id, role, publicKey }) => ({ id, role, publicKey }));
  }

  private async templatesOf(runs: { history: unknown }[]): Promise<BundleBody['templates']> {
    const input = readHistory(runs[0]!.history as never).input[0] as {
      templateId?: string;
      sellerId?: string;
      sellers?: { sellerId: string }[];
    };
    if (!input.templateId) return [];
    const sellers = input.sellers?.map((s) => s.sellerId) ?? (input.sellerId ? [input.sellerId] : []);
    const templates: BundleBody['templates'] = [];
    for (const sellerId of sellers) {
      const files = await readSignedTemplate(join(this.policiesRoot, sellerId), input.templateId).catch(
        () => undefined,
      );
      if (files) templates.push({ sellerId, template: files.template, signature: files.signature });
    }
    return templates;
  }

  private async ledgerOf(dealId: string): Promise<BundleBody['settlement']> {
    const { settlement } = this.config;
    if (settlement.adapter !== 'local-ledger') return { adapter: settlement.adapter, ledgerLines: [] };
    const lines = await ledgerLinesFor(settlement.ledgerFile, dealEscrowId(dealId));
    return {
      adapter: 'local-ledger',
      ledgerLines: lines.map(({ line, text }) => ({ line, text })),
    };
  }

  /** The sealed result and audit trails the histories name, when the blob store holds them. */
  private async blobsNamedIn(runs: { history: unknown }[]): Promise<BundleBody['blobs']> {
    const refs = new Set<string>();
    for (const run of runs)
      for (const call of readHistory(run.history as never).activities)
        for (const ref of JSON.stringify(call.result ?? null).match(BLOB_REF) ?? []) refs.add(ref);
    const blobs: BundleBody['blobs'] = [];
    for (const ref of refs)
      if (await this.blobs.has(ref))
        blobs.push({ ref, base64: (await this.blobs.get(ref)).toString('base64') });
    return blobs;
  }
}
