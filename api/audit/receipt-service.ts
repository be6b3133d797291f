import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { receiptFactsOf, subjectInput } from '../../audit/deal-facts';
import { ledgerLinesOf } from '../../audit/ledger-lines';
import type { AnchorStore } from './anchor-store';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import {
  issueReceipt,
  receiptDigest,
  sealedOnly,
  signedReceipt,
  type SignedReceipt,
} from '../../audit/receipt';
import type { Party } from '../../lib/parties';
import { ApiError } from '../errors';
import { viewOf } from '../redaction';
import { subjectRuns, type RecordedRun } from './deal-histories';
import type { TransparencyLog } from './log-store';
import { escrowsOf, subjectKey, type AuditSubject } from '../../audit/subject';

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
 * Receipts: issued by the operator once per settled money event — a deal (with its dispute's split),
 * a subscription period, a grant with its tranches — from the recorded histories, signed, and
 * appended to the transparency log in the same transaction that stores them. A disclosure has none:
 * it moves no money, and its bundle (logged too) is what attests it.
 */
export class ReceiptService {
  constructor(
    private readonly temporal: Client,
    private readonly config: AuditConfig,
  ) {}

  /** The subject's receipt, issued now if its money has settled and it has none yet. */
  async receiptOf(subject: AuditSubject, runs?: RecordedRun[]): Promise<SignedReceipt> {
    const key = subjectKey(subject);
    const logged = this.config.log.documentFor(key, 'receipt');
    if (logged) return signedReceipt.parse(logged.document);
    if (subject.kind === 'disclosure')
      throw new ApiError('invalid_state', `a disclosure moves no money: it has no receipt`);
    const recorded = runs ?? (await subjectRuns(this.temporal, this.config.codec, subject));
    const { settlement } = this.config;
    const ledgerEntries =
      settlement.adapter === 'local-ledger'
        ? (await ledgerLinesOf(settlement.ledgerFile, escrowsOf(subject, subjectInput(recorded)))).map(
            ({ line, kind, digest }) => ({ line, kind, digest }),
          )
        : [];
    const facts = receiptFactsOf(subject, recorded, { adapter: settlement.adapter, ledgerEntries });
    if (!facts) throw new ApiError('invalid_state', `${key} has not settled: no receipt yet`);
    const receipt = issueReceipt(this.config.signer, facts);
    this.config.log.append(
      { type: 'tusk.log-entry/v1', kind: 'receipt', dealId: key, digest: receiptDigest(receipt) },
      receipt,
      { onePerDeal: true },
    );
    // Two requests at once: the log kept the first, and that is the receipt.
    return signedReceipt.parse(this.config.log.documentFor(key, 'receipt')!.document);
  }

  /** The receipt as this party may see it: openings for the deal's parties, seals only for auditors. */
  async visibleReceipt(party: Party, subject: AuditSubject): Promise<SignedReceipt> {
    const receipt = await this.receiptOf(subject);
    const dealId = subjectKey(subject);
    const parties = receipt.openings?.parties?.value;
    const ids = parties ? [parties.buyer, ...parties.sellers] : [];
    return viewOf(party, ids, `deal ${dealId}`) === 'whole' ? receipt : sealedOnly(receipt);
  }
}
