import { budgetScopeOf, checkDatasetPolicySignature } from '../../query-policies/dataset-policy';
import { answerCost } from '../../query-policies/noise-plan';
import {
  addCosts,
  isFree,
  withinBudget,
  ZERO_COST,
  type PrivacyCost,
} from '../../query-policies/privacy-cost';
import { templateHash } from '../../query-policies/signature';
import { queryTemplate } from '../../query-policies/template';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import type { HistoryJson } from '../history-json';
import type { PrivacyEntries, PrivacyEntry } from '../privacy-entries';
import { RELEASE_ACTIVITIES } from './checks';
import { finding, fromProblems, type CheckResult } from './report';

const DAY_MS = 86_400_000;
const costOf = (e: PrivacyEntry): PrivacyCost => ({
  microEpsilon: e.microEpsilon,
  nanoRho: e.nanoRho,
  femtoDelta: e.femtoDelta,
});
const sameCost = (a: PrivacyCost, b: PrivacyCost) =>
  a.microEpsilon === b.microEpsilon && a.nanoRho === b.nanoRho && a.femtoDelta === b.femtoDelta;
const epsilonOf = (cost: PrivacyCost) => cost.microEpsilon / 1e6;

/**
 * The perimeter releases the subject's histories record: run id, the seller whose perimeter ran it
 * (its queue is `perimeter.<sellerId>`), template, whether it was a repeat.
 */
export function releasesOf(bundle: SignedBundle) {
  const runs = bundle.body.runs as { workflowId: string; runId: string; history: HistoryJson }[];
  return callsOfSubject(bundle.body.subject, runs)
    .filter((c) => c.completed && RELEASE_ACTIVITIES.includes(c.activityType))
    .map((c) => {
      const input = c.input[0] as {
        dealId: string;
        templateHash: string;
        terms?: { body?: { nonce?: unknown } };
      };
      const { repeat } = c.result as { repeat: boolean };
      const sellerId = c.taskQueue?.startsWith('perimeter.')
        ? c.taskQueue.slice('perimeter.'.length)
        : undefined;
      const nonce = input.terms?.body?.nonce;
      return {
        id: input.dealId,
        sellerId,
        templateHash: input.templateHash,
        repeat,
        ...(typeof nonce === 'string' ? { nonce } : {}),
      };
    });
}

/** The releases a seller's own ledger answers for: those its perimeter ran. */
const releasesBy = (bundle: SignedBundle, sellerId: string) =>
  releasesOf(bundle).filter((r) => r.sellerId === undefined || r.sellerId === sellerId);

/**
 * The seller's own ledger against the histories: each release charged once, at its signed template's
 * cost; a repeat free; and after each charge, what all buyers (and this buyer) spent on the dataset
 * inside the window within the budgets of the seller's signed dataset policy.
 */
export function checkPrivacyLedger(bundle: SignedBundle, ledger: PrivacyEntries): CheckResult[] {
  const key = bundle.body.parties.find((p) => p.id === ledger.sellerId)?.publicKey;
  const { policy, signature } = ledger.datasetPolicy;
  const signed = key && checkDatasetPolicySignature(policy, signature, key);
  if (!signed || !signed.ok)
    return [
      finding(
        'privacy budget',
        signed ? signed.reason : `the bundle names no key for seller ${ledger.sellerId}`,
      ),
    ];
  const templates = new Map(
    bundle.body.templates.flatMap((t) => {
      const parsed = queryTemplate.safeParse(t.template);
      return parsed.success ? [[templateHash(parsed.data), parsed.data] as const] : [];
    }),
  );
  const charges: string[] = [];
  const budget: string[] = [];
  for (const release of releasesBy(bundle, ledger.sellerId)) {
    // A deal id signed again under a new nonce has an entry of its own: the release's, else one
    // whose nonce the ledger does not know (kept before nonces were recorded).
    const entries = ledger.entries.filter((e) => e.dealId === release.id);
    const entry =
      entries.find((e) => release.nonce !== undefined && e.nonce === release.nonce) ??
      entries.find((e) => !e.nonce);
    if (!entry) {
      charges.push(`${release.id} has no entry in the seller's privacy ledger`);
      continue;
    }
    if (entry.state !== 'committed')
      charges.push(`${release.id} is ${entry.state} in the ledger, not charged`);
    const template = templates.get(release.templateHash);
    const due = release.repeat ? ZERO_COST : template ? answerCost(template) : undefined;
    if (release.repeat && !isFree(costOf(entry)))
      charges.push(`${release.id} repeats a stored answer but was charged ε ${epsilonOf(costOf(entry))}`);
    else if (due && !sameCost(costOf(entry), due))
      charges.push(
        `${release.id} was charged ε ${epsilonOf(costOf(entry))}; its signed template costs ε ${epsilonOf(due)}`,
      );
    const scope = budgetScopeOf(policy, entry.dataset);
    const limits = scope?.budget;
    if (!scope || !limits) {
      budget.push(`the dataset policy sets no budget for ${entry.dataset}`);
      continue;
    }
    const inWindow = ledger.entries.filter(
      (e) =>
        scope.datasets.includes(e.dataset) &&
        e.state !== 'released' &&
        (limits.windowDays === undefined || e.at > entry.at - limits.windowDays * DAY_MS) &&
        e.at <= entry.at,
    );
    const total = inWindow.reduce((sum, e) => addCosts(sum, costOf(e)), ZERO_COST);
    const buyer = inWindow
      .filter((e) => e.buyerId === entry.buyerId)
      .reduce((sum, e) => addCosts(sum, costOf(e)), ZERO_COST);
    if (!withinBudget(total, limits.total))
      budget.push(
        `after ${release.id}, ${scope.datasets.join(' + ')} had spent ε ${epsilonOf(total)} ${limits.windowDays === undefined ? 'in all' : `in ${limits.windowDays} days`}, over its budget ε ${limits.total.epsilon}`,
      );
    if (!withinBudget(buyer, limits.perBuyer))
      budget.push(
        `after ${release.id}, its buyer had spent ε ${epsilonOf(buyer)} on ${entry.dataset}, over the per-buyer ε ${limits.perBuyer.epsilon}`,
      );
  }
  const read = `${ledger.entries.length} entries read by ${ledger.sellerId} from ${ledger.ledgerFile}`;
  return [
    ...fromProblems("privacy charges in the seller's ledger", charges, read),
    ...fromProblems('privacy budget', budget, `dataset policy ${signed.hash}`),
  ];
}
