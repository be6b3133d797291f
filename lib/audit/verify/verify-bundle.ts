import type { SignedBundle } from '../bundle';
import {
  checkApprovals,
  checkBundleSignature,
  checkLedger,
  checkMoney,
  checkPrivacyCharges,
  checkReceiptAgainstHistories,
  checkReceiptLogged,
  checkResultCommitment,
  checkTemplates,
} from './checks';
import { checkWorkflowCode, replayRuns } from './replay';
import { skipped, type AuditReport } from './report';

export interface VerifyOptions {
  /** The operator's public key, pinned by the auditor. */
  operatorKey: string;
  /** The buyer's X25519 result key (PEM file): opens the sealed result to check its commitment. */
  resultKey?: string;
  /** A copy of the local ledger to check the receipt's lines against. */
  ledgerFile?: string;
  /** An Aztec node to check the chain receipt and payments against. */
  aztecNodeUrl?: string;
  /** The workflow code to replay with (default: this checkout's workflows/index.ts). */
  workflowsPath?: string;
}

/** Every check of a deal's audit bundle; the report says what passed, what is wrong and what was not checked. */
export async function verifyBundle(bundle: SignedBundle, options: VerifyOptions): Promise<AuditReport> {
  const checks = [
    checkBundleSignature(bundle, options.operatorKey),
    ...(options.workflowsPath ? [] : [await checkWorkflowCode(bundle)]),
    ...(await replayRuns(bundle, options.workflowsPath)),
    ...checkTemplates(bundle),
    ...checkReceiptAgainstHistories(bundle, options.operatorKey),
    checkReceiptLogged(bundle, options.operatorKey),
    ...(await checkResultCommitment(bundle, options.resultKey)),
    ...checkMoney(bundle),
    ...(await checkLedger(bundle, options.ledgerFile)),
    ...checkPrivacyCharges(bundle),
    ...checkApprovals(bundle),
  ];
  if (bundle.body.settlement.adapter === 'aztec')
    checks.push(
      skipped(
        'receipt against Aztec',
        options.aztecNodeUrl
          ? 'checking the chain receipt note and payments on a node is not implemented yet'
          : 'give --aztec-node URL',
      ),
    );
  return { dealId: bundle.body.dealId, ok: checks.every((c) => c.status !== 'finding'), checks };
}
