import { checkLoserConsent } from './loser-checks';
import { checkUndeliveredRefunds } from './refusal-checks';
import { checkRemainderTimes } from './remainder-checks';
import type { SignedBundle } from '../bundle';
import {
  checkBundleSignature,
  checkLedger,
  checkMoney,
  checkPrivacyCharges,
  checkReceiptAgainstHistories,
  checkReceiptLogged,
  checkResultCommitment,
  checkTemplates,
} from './checks';
import type { PrivacyEntries } from '../privacy-entries';
import { checkVerdictCharges } from './verdict-charges';
import { checkPrivacyLedger } from './privacy-check';
import { checkReleaseStatements, type LoggedPerimeterKeys, type PerimeterKeys } from './release-checks';
import { checkPayerTerms } from './signed-money';
import { checkWorkflowCode, replayRuns } from './replay';
import { checkLogAnchors, checkSettlementOnChain, type OperatorLogView } from './chain-checks';
import { skipped, type AuditReport } from './report';
import { checkApprovals, checkDecisionBindings } from './decision-checks';
import type { AuditorKeys } from './auditor-keys';
import { checkBundleKeys, checkPayerKey } from './key-checks';
import { checkSumRecomputed } from './sum-check';
import {
  checkExpiredRefundsInLog,
  checkExtensionsInLog,
  checkReleasesInLog,
  loggedExtensionsOf,
} from './log-checks';
import type { LogLookups } from './log-lookups';

/** The settlement on the node, and the bundle's log head against the heads anchored on chain. */
async function chainChecks(bundle: SignedBundle, nodeUrl: string, options: VerifyOptions) {
  const held = bundle.body.receiptInclusion?.treeHead.body;
  return [
    ...(bundle.body.settlement.adapter === 'aztec'
      ? await checkSettlementOnChain(bundle, nodeUrl, options.receiptContract)
      : []),
    ...(options.log
      ? await checkLogAnchors(nodeUrl, options.log, held)
      : [skipped('log anchored on Aztec', "the operator's API was not reached to list its anchors")]),
  ];
}

export interface VerifyOptions {
  /** The operator's public key, pinned by the auditor. */
  operatorKey: string;
  /** The buyer's X25519 result key (PEM file): opens the sealed result to check its commitment. */
  resultKey?: string;
  /** A copy of the local ledger to check the receipt's lines against. */
  ledgerFile?: string;
  /** An Aztec node to check the chain receipt and payments against. */
  aztecNodeUrl?: string;
  /** The receipt NFT contract, to check the receipt's public id was minted (the anchors name it). */
  receiptContract?: string;
  /** The operator's log, to check its anchored heads on the node against the bundle's head. */
  log?: OperatorLogView;
  /** The seller's privacy-ledger entries, read by the seller's own CLI (audit/privacy-entries.ts). */
  privacyEntries?: PrivacyEntries;
  /** Sellers' perimeter keys as the auditor pins them: release statements are checked against these. */
  perimeterKeys?: PerimeterKeys;
  /**
   * Parties' (and perimeters') keys as the auditor pinned them or read them from the log under the
   * pinned operator key: payers' terms, decisions and the bundle's own keys are checked against these.
   */
  keys?: AuditorKeys;
  /**
   * The log's signed answers for the subject's release and extension lookup keys (./log-lookups.ts),
   * read under the pinned operator key; without them those checks say they were not run.
   */
  logLookups?: LogLookups;
  /** The workflow code to replay with (default: this checkout's workflows/index.ts). */
  workflowsPath?: string;
}

/** The histories' charges; the budget from the seller's entries when the seller brought them. */
function privacyChecks(bundle: SignedBundle, entries?: PrivacyEntries) {
  const fromHistories = checkPrivacyCharges(bundle);
  if (!entries) return fromHistories;
  // Milestone verdicts are no answers: their ε is checked against the ledger on its own.
  const verdicts = checkVerdictCharges(bundle, entries);
  if (fromHistories[0]?.status === 'skipped') return [...fromHistories, ...verdicts];
  return [
    ...fromHistories.filter((c) => c.check !== 'privacy budget'),
    ...checkPrivacyLedger(bundle, entries),
    ...verdicts,
  ];
}

/** Perimeter keys pinned on their own (--perimeter-keys) first, then those of the keys held. */
function perimeterKeysOf(options: VerifyOptions): PerimeterKeys | undefined {
  if (!options.perimeterKeys && !options.keys) return undefined;
  return { ...options.keys?.perimeters, ...options.perimeterKeys };
}

/** The perimeter keys read from the log with their periods, except where the auditor pinned one. */
function loggedPerimeterKeysOf(options: VerifyOptions): LoggedPerimeterKeys | undefined {
  const logged = options.keys?.perimeterPeriods;
  if (!logged) return undefined;
  return Object.fromEntries(
    Object.entries(logged).filter(([sellerId]) => options.perimeterKeys?.[sellerId] === undefined),
  );
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
    ...checkReleaseStatements(bundle, perimeterKeysOf(options), loggedPerimeterKeysOf(options)),
    ...(await checkSumRecomputed(bundle)),
    ...checkMoney(bundle),
    ...checkPayerTerms(bundle),
    ...checkLoserConsent(bundle, options.keys),
    ...checkUndeliveredRefunds(bundle, options.keys),
    ...checkRemainderTimes(bundle, options.keys, loggedExtensionsOf(bundle, options.logLookups)),
    ...checkReleasesInLog(bundle, options.logLookups),
    ...checkExpiredRefundsInLog(bundle, options.logLookups, options.keys),
    ...checkExtensionsInLog(bundle, options.logLookups, options.keys),
    ...checkPayerKey(bundle, options.keys),
    ...checkBundleKeys(bundle, options.keys),
    ...(await checkLedger(bundle, options.ledgerFile)),
    ...privacyChecks(bundle, options.privacyEntries ?? bundle.privacyEntries),
    ...checkApprovals(bundle, options.keys),
    ...checkDecisionBindings(bundle, options.keys),
  ];
  if (bundle.body.settlement.adapter === 'aztec' && !options.aztecNodeUrl)
    checks.push(skipped('receipt against Aztec', 'give --aztec-node URL'));
  if (options.aztecNodeUrl) checks.push(...(await chainChecks(bundle, options.aztecNodeUrl, options)));
  return { dealId: bundle.body.dealId, ok: checks.every((c) => c.status !== 'finding'), checks };
}
