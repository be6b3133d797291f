import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { canonicalJson } from '../../lib/canonical-json';
import { openResult } from '../../lib/sealed-result';
import { noisePlan } from '../../query-policies/noise-plan';
import { checkTemplateSignature, templateHash, templateSignature } from '../../query-policies/signature';
import { queryTemplate } from '../../query-policies/template';
import type { SignedBundle } from '../bundle';
import { callsOfSubject, receiptFactsOf } from '../deal-facts';
import { readHistory, type ActivityCall } from '../history-json';
import { pinnedTemplates, subjectKey } from '../subject';
import { amountsOf, checkReceipt, receiptDigest, statedLineDigest, templateOf } from '../receipt';
import { conservationProblems, moneyFactsOf } from '../settlement-facts';
import { checkDocumentSignature } from '../../lib/transparency/signed-document';
import { checkInclusion } from '../../lib/transparency/tree-head';
import { finding, fromProblems, ok, skipped, type CheckResult } from './report';

/** The calls that belong to the bundle's subject (a period's only, of a subscription run). */
const callsOf = (bundle: SignedBundle): ActivityCall[] =>
  callsOfSubject(bundle.body.subject, bundle.body.runs);
const completed = (bundle: SignedBundle, type: string) =>
  callsOf(bundle).filter((c) => c.completed && c.activityType === type);
/**
 * The perimeter calls that release an answer and charge the dataset for it: a single seller's answer,
 * or one seller's part of a multi-seller sum. Both say what they charged and whether it was a repeat.
 */
export const RELEASE_ACTIVITIES = ['runApprovedQuery', 'encryptContribution'];
const dealInput = (bundle: SignedBundle) =>
  (readHistory(bundle.body.runs[0]!.history).input[0] ?? {}) as {
    templateHash?: string;
    sellers?: { sellerId: string; templateHash: string }[];
    feeBps?: number;
  };
const NO_RECEIPT = 'a disclosure moves no money: it has no receipt; the bundle itself is in the log';

/** A receipt is missing only where there is nothing to attest; otherwise its absence is a finding. */
const withoutReceipt = (bundle: SignedBundle, check: string): CheckResult =>
  bundle.body.subject.kind === 'disclosure'
    ? skipped(check, NO_RECEIPT)
    : finding(check, `the bundle holds no receipt, but ${bundle.body.dealId} settled money`);

export function checkBundleSignature(bundle: SignedBundle, operatorKey: string): CheckResult {
  const check = checkDocumentSignature(bundle, operatorKey);
  return check.ok
    ? ok('bundle signed by the operator')
    : finding('bundle signed by the operator', check.reason);
}

/** Each seller signed each template the subject pinned, with the key the operator registered for it. */
export function checkTemplates(bundle: SignedBundle): CheckResult[] {
  const pinned = pinnedTemplates(
    bundle.body.runs[0]!.workflowType,
    readHistory(bundle.body.runs[0]!.history).input[0],
  );
  if (pinned.length === 0)
    return [skipped('template and seller signature', 'this subject names no template')];
  const stated = bundle.body.receipt && templateOf(bundle.body.receipt)?.templateHash;
  return pinned.map(({ sellerId, templateId, templateHash }) => {
    const check = `template and seller signature (${sellerId}, ${templateId})`;
    const held = bundle.body.templates.filter((t) => t.sellerId === sellerId);
    if (held.length === 0) return finding(check, `the bundle does not hold ${sellerId}'s signed template`);
    const key = bundle.body.parties.find((p) => p.id === sellerId)?.publicKey;
    if (!key) return finding(check, `the bundle names no key for seller ${sellerId}`);
    const verdicts = held.map(({ template, signature }) => {
      const parsed = queryTemplate.safeParse(template);
      const signed = templateSignature.safeParse(signature);
      if (!parsed.success || !signed.success)
        return {
          ok: false as const,
          reason: 'the bundle does not hold a well-formed template and signature',
        };
      return checkTemplateSignature(parsed.data, signed.data, key);
    });
    const match = verdicts.find((v) => v.ok && v.hash === templateHash);
    if (!match) {
      const bad = verdicts.find((v) => !v.ok);
      const other = verdicts.find((v) => v.ok);
      return finding(
        check,
        bad && !bad.ok
          ? bad.reason
          : `the deal pinned ${templateHash}, the signed template is ${other && other.ok ? other.hash : '(none)'}`,
      );
    }
    if (stated && !dealInput(bundle).sellers && pinned.length === 1 && stated !== templateHash)
      return finding(check, `the receipt names template ${stated}, the deal ran ${templateHash}`);
    return ok(check, templateHash);
  });
}

/** The receipt is the operator's, says what the histories say, and its openings match its seals. */
export function checkReceiptAgainstHistories(bundle: SignedBundle, operatorKey: string): CheckResult[] {
  const { receipt, subject, dealId } = bundle.body;
  const check = 'receipt matches the histories';
  if (subjectKey(subject) !== dealId)
    return [
      finding('bundle subject', `the bundle is keyed ${dealId}, its subject is ${subjectKey(subject)}`),
    ];
  if (!receipt) return [withoutReceipt(bundle, 'receipt')];
  const signature = checkReceipt(receipt, operatorKey);
  if (!signature.ok) return [finding('receipt signed by the operator', signature.reason)];
  const facts = receiptFactsOf(subject, bundle.body.runs, {
    adapter: receipt.body.settlement.adapter,
    ledgerEntries: receipt.body.settlement.ledgerEntries,
  });
  if (!facts)
    return [
      ok('receipt signed by the operator'),
      finding(check, `the histories do not show ${dealId} settled`),
    ];
  const problems: string[] = [];
  const compare = (what: string, stated: unknown, recorded: unknown) => {
    if (canonicalJson(stated ?? null) !== canonicalJson(recorded ?? null))
      problems.push(
        `the receipt's ${what} ${canonicalJson(stated ?? null)} is not the recorded ${canonicalJson(recorded ?? null)}`,
      );
  };
  compare('subject', receipt.body.dealId, facts.dealId);
  compare('kind', receipt.body.kind, facts.kind);
  compare('outcome', receipt.body.outcome, facts.outcome);
  compare('chain receipt', receipt.body.chainReceiptId, facts.money.chainReceipt?.id);
  compare('settlement transactions', receipt.body.settlement.transactions, facts.money.transactions);
  if (receipt.openings?.parties) compare('parties', receipt.openings.parties.value, facts.parties);
  if (receipt.openings?.amounts) compare('amounts', receipt.openings.amounts.value, amountsOf(facts));
  return [ok('receipt signed by the operator'), ...fromProblems(check, problems)];
}

/** The receipt's result commitment is the one the perimeter returned, and the sealed result's. */
export async function checkResultCommitment(
  bundle: SignedBundle,
  resultKeyPem?: string,
): Promise<CheckResult[]> {
  const check = 'result commitment';
  const results = [...completed(bundle, 'runApprovedQuery'), ...completed(bundle, 'sumCiphertexts')].map(
    (c) => c.result as { resultRef: string; commitment: string },
  );
  const recorded = results.at(-1);
  if (!bundle.body.receipt) return [skipped(check, NO_RECEIPT)];
  const stated = bundle.body.receipt.body.resultCommitment;
  if (!recorded)
    return [
      stated
        ? finding(check, `the receipt states ${stated}, but no result was recorded`)
        : skipped(check, 'no result was delivered'),
    ];
  if (stated !== recorded.commitment)
    return [
      finding(
        check,
        `the receipt's commitment ${stated ?? '(none)'} is not the sealed result's ${recorded.commitment}`,
      ),
    ];
  const blob = bundle.body.blobs.find((b) => b.ref === recorded.resultRef);
  if (!blob) return [ok(check, `${stated} (the sealed result is not in this copy)`)];
  const bytes = Buffer.from(blob.base64, 'base64');
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== recorded.resultRef)
    return [finding(check, `the sealed result in the bundle is not the blob ${recorded.resultRef}`)];
  if (!resultKeyPem)
    return [ok(check, `${stated}; the sealed result is the recorded blob (give --result-key to open it)`)];
  try {
    await openResult(bytes, await readFile(resultKeyPem, 'utf8'), bundle.body.dealId, stated);
    return [ok(check, `${stated}; opened with the buyer's key, it matches`)];
  } catch (error) {
    return [finding(check, (error as Error).message)];
  }
}

/** The receipt is in the operator's transparency log, under a head the operator signed. */
export function checkReceiptLogged(bundle: SignedBundle, operatorKey: string): CheckResult {
  const { receipt, receiptInclusion, dealId } = bundle.body;
  if (!receipt || !receiptInclusion) return withoutReceipt(bundle, 'receipt in the transparency log');
  const entry = {
    type: 'tusk.log-entry/v1' as const,
    kind: 'receipt' as const,
    dealId,
    digest: receiptDigest(receipt),
  };
  const verdict = checkInclusion(entry, receiptInclusion, operatorKey);
  return verdict.ok
    ? ok(
        'receipt in the transparency log',
        `leaf ${receiptInclusion.leafIndex} of ${receiptInclusion.treeSize}`,
      )
    : finding('receipt in the transparency log', verdict.reason);
}

/** payouts + fees + refunds = deposits, and each fee is the agreed basis points. */
export function checkMoney(bundle: SignedBundle): CheckResult[] {
  const facts = moneyFactsOf(callsOf(bundle));
  const agreed = dealInput(bundle).feeBps;
  const problems = conservationProblems(facts);
  for (const fee of facts.fees)
    if (agreed !== undefined && fee.feeBps !== agreed)
      problems.push(`a fee was taken at ${fee.feeBps} bps; the deal agreed ${agreed}`);
  return fromProblems('money conservation', problems);
}

/** The local ledger's lines are the receipt's, verbatim, and move the amounts the histories record. */
export async function checkLedger(bundle: SignedBundle, ledgerFile?: string): Promise<CheckResult[]> {
  const check = 'receipt against the ledger';
  const { settlement, receipt } = bundle.body;
  if (!receipt)
    return settlement.ledgerLines.length === 0
      ? [withoutReceipt(bundle, check)]
      : [finding(check, `the bundle holds ${settlement.ledgerLines.length} ledger lines and no receipt`)];
  if (settlement.adapter !== 'local-ledger')
    return [skipped(check, 'settled on Aztec: give --aztec-node to check on chain')];
  const problems: string[] = [];
  const digest = (text: string) =>
    statedLineDigest(receipt, `sha256:${createHash('sha256').update(text).digest('hex')}`);
  const stated = receipt.body.settlement.ledgerEntries;
  if (stated.length !== settlement.ledgerLines.length)
    problems.push(
      `the receipt names ${stated.length} ledger lines, the bundle holds ${settlement.ledgerLines.length}`,
    );
  for (const line of settlement.ledgerLines) {
    const entry = stated.find((e) => e.line === line.line);
    if (!entry || entry.digest !== digest(line.text))
      problems.push(`ledger line ${line.line} is not the line the receipt names`);
  }
  if (ledgerFile) {
    const lines = (await readFile(ledgerFile, 'utf8')).split('\n');
    for (const entry of stated)
      if (digest(lines[entry.line - 1] ?? '') !== entry.digest)
        problems.push(`line ${entry.line} of ${ledgerFile} is not the line the receipt names`);
  }
  const facts = moneyFactsOf(callsOf(bundle));
  const moved = settlement.ledgerLines.map((l) => JSON.parse(l.text) as Record<string, string>);
  const sum = (values: (string | undefined)[]) => values.reduce((t, v) => t + BigInt(v ?? 0), 0n);
  const pairs: [string, bigint, bigint][] = [
    [
      'locked',
      sum(moved.filter((e) => e.kind === 'lock').map((e) => e.amount)),
      sum(facts.deposits.map((d) => d.amount)),
    ],
    [
      'paid out',
      sum(
        moved.map((e) =>
          e.kind === 'release' ? e.sellerAmount : e.kind === 'release_part' ? e.payeeAmount : '0',
        ),
      ),
      sum(facts.payouts.map((p) => p.amount)),
    ],
    ['fees', sum(moved.map((e) => e.feeAmount ?? '0')), sum(facts.fees.map((f) => f.amount))],
    [
      'refunded',
      sum(moved.filter((e) => e.kind === 'refund' || e.kind === 'refund_remainder').map((e) => e.amount)),
      sum(facts.refunds.map((r) => r.amount)),
    ],
  ];
  for (const [what, onLedger, inHistory] of pairs)
    if (onLedger !== inHistory)
      problems.push(`the ledger shows ${onLedger} ${what}, the histories ${inHistory}`);
  return fromProblems(check, problems, ledgerFile ? `checked against ${ledgerFile}` : 'lines in the bundle');
}

/** Each release charged its template's ε once; an identical repeat free. */
export function checkPrivacyCharges(bundle: SignedBundle): CheckResult[] {
  const releases = RELEASE_ACTIVITIES.flatMap((type) => completed(bundle, type));
  if (releases.length === 0)
    return [
      skipped(
        'privacy charges',
        // Said plainly: these kinds are charged in the perimeter too, but not recomputed here.
        'no released answer in this subject; grant milestone checks are charged in the perimeter but not recomputed here',
      ),
    ];
  const problems: string[] = [];
  const templates = new Map(
    bundle.body.templates.flatMap((t) => {
      const parsed = queryTemplate.safeParse(t.template);
      return parsed.success ? [[templateHash(parsed.data), parsed.data] as const] : [];
    }),
  );
  for (const release of releases) {
    const { epsilonSpent, repeat } = release.result as { epsilonSpent: number; repeat: boolean };
    const template = templates.get(String((release.input[0] as { templateHash?: string }).templateHash));
    if (repeat && epsilonSpent !== 0)
      problems.push(`a repeated answer was charged ε ${epsilonSpent}; repeats are free`);
    if (!repeat && template && epsilonSpent !== noisePlan(template).epsilon)
      problems.push(
        `a fresh answer was charged ε ${epsilonSpent}; the signed template costs ${noisePlan(template).epsilon}`,
      );
  }
  return [
    ...fromProblems('privacy charges', problems),
    skipped(
      'privacy budget',
      "budgets are the seller's: the seller checks them with its perimeter's ledger (--privacy-ledger)",
    ),
  ];
}
