import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { receiptFactsOf } from '../../lib/audit/deal-facts';
import { ledgerLinesFor } from '../../lib/audit/ledger-lines';
import type { AnchorStore } from './anchor-store';
import type { OperatorSigner } from '../../lib/audit/operator-key';
import {
  issueReceipt,
  receiptDigest,
  sealedOnly,
  signedReceipt,
  type SignedReceipt,
} from '../../lib/audit/receipt';
import type { Party } from '../../lib/parties';
import { ApiError } from '../errors';
import { viewOf } from '../redaction';
import { dealRuns, type RecordedRun } from './deal-histories';
import type { TransparencyLog } from './log-store';
import { dealEscrowId } from '../../activities/settlement/types';

export interface AuditConfig {
  signer: OperatorSigner;
  log: TransparencyLog;
  codec: PayloadCodec;
  /** Where settlement moves money; the local ledger's file when it is the local ledger. */
  settlement: { adapter: 'local-ledger'; ledgerFile: string } | { adapter: 'aztec' };
  /** How often to issue the receipts of deals that finished; unset, receipts are issued when asked for. */
  sweepIntervalMs?: number;
  /** Where the log's anchors are recorded; unset, the API anchors nothing. */
  anchors?: AnchorStore;
  /** How often to anchor the log's head on Aztec when it grew; unset, only when the operator asks. */
  anchorIntervalMs?: number;
}

/**
 * Receipts: issued by the operator once per finished deal, from the deal's recorded histories, signed,
 * and appended to the transparency log in the same transaction that stores them.
 */
export class ReceiptService {
  constructor(
    private readonly temporal: Client,
    private readonly config: AuditConfig,
  ) {}

  /** The deal's receipt, issued now if the deal has finished and has none yet. */
  async receiptOf(dealId: string, runs?: RecordedRun[]): Promise<SignedReceipt> {
    const logged = this.config.log.documentFor(dealId, 'receipt');
    if (logged) return signedReceipt.parse(logged.document);
    const recorded = runs ?? (await dealRuns(this.temporal, this.config.codec, dealId));
    const { settlement } = this.config;
    const ledgerEntries =
      settlement.adapter === 'local-ledger'
        ? (await ledgerLinesFor(settlement.ledgerFile, dealEscrowId(dealId))).map(
            ({ line, kind, digest }) => ({
              line,
              kind,
              digest,
            }),
          )
        : [];
    const facts = receiptFactsOf(dealId, recorded, { adapter: settlement.adapter, ledgerEntries });
    if (!facts) throw new ApiError('invalid_state', `deal ${dealId} has not finished: no receipt yet`);
    const receipt = issueReceipt(this.config.signer, facts);
    this.config.log.append(
      { type: 'tusk.log-entry/v1', kind: 'receipt', dealId, digest: receiptDigest(receipt) },
      receipt,
      { onePerDeal: true },
    );
    // Two requests at once: the log kept the first, and that is the receipt.
    return signedReceipt.parse(this.config.log.documentFor(dealId, 'receipt')!.document);
  }

  /** The receipt as this party may see it: openings for the deal's parties, seals only for auditors. */
  async visibleReceipt(party: Party, dealId: string): Promise<SignedReceipt> {
    const receipt = await this.receiptOf(dealId);
    const parties = receipt.openings?.parties?.value;
    const ids = parties ? [parties.buyer, ...parties.sellers] : [];
    return viewOf(party, ids, `deal ${dealId}`) === 'whole' ? receipt : sealedOnly(receipt);
  }
}
