import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import { signEd25519, verifyEd25519, publicKeyOf } from '../lib/ed25519';
import { declaredColumns } from './column-domains';
import { identifier } from './template';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** An (ε, δ) budget. δ must stay well below 1/n for any dataset of n people. A total across all
 * buyers may be large (the demo seller allows ε = 200 per 30 days); what one answer may cost is
 * bounded by the template schema. */
export const budgetSpec = z.strictObject({
  epsilon: z.number().positive().max(1000),
  delta: z.number().min(0).max(1e-3),
});

/**
 * The seller's own limits for one dataset: what all buyers together may spend (a privacy filter,
 * Rogers et al. 2016), and what any one buyer may spend. Set here, in the perimeter's own signed
 * configuration, never by a template, so neither a new buyer identity nor a generous template buys
 * more.
 *
 * Without `windowDays` the budgets are lifetime budgets: a charge never stops counting, so the
 * filter bounds the privacy loss over all time (the default for new policies). With `windowDays`
 * only charges committed in the last `windowDays` count: that bounds the loss per window (a rate),
 * not over time. `budgetGroup` names datasets that hold the same people: every dataset of a group
 * draws on one budget (per buyer and in total), so the group's datasets must state the same limits.
 */
export const datasetBudget = z
  .strictObject({
    windowDays: z.int().min(1).max(3660).optional(),
    total: budgetSpec,
    perBuyer: budgetSpec,
    budgetGroup: identifier.optional(),
    /**
     * Each column's declared domain (query-policies/column-domains.ts): what a template proposal's
     * preview runs on, as a synthetic twin; without them, proposals on this dataset get no preview.
     */
    columns: declaredColumns.optional(),
  })
  .refine((b) => b.perBuyer.epsilon <= b.total.epsilon && b.perBuyer.delta <= b.total.delta, {
    message: 'a buyer cannot be allowed more than all buyers together',
  });
export type DatasetBudget = z.infer<typeof datasetBudget>;

const limitsOf = ({ windowDays, total, perBuyer }: DatasetBudget) =>
  canonicalHash({ windowDays: windowDays ?? null, total, perBuyer });

export const datasetPolicy = z
  .strictObject({
    seller: slug,
    version: z.int().min(1),
    datasets: z.record(identifier, datasetBudget),
  })
  .superRefine((policy, ctx) => {
    const groups = new Map<string, string>();
    for (const [dataset, budget] of Object.entries(policy.datasets)) {
      if (!budget.budgetGroup) continue;
      const limits = groups.get(budget.budgetGroup);
      if (limits === undefined) groups.set(budget.budgetGroup, limitsOf(budget));
      else if (limits !== limitsOf(budget))
        ctx.addIssue({
          code: 'custom',
          path: ['datasets', dataset],
          message: `the datasets of budget group ${budget.budgetGroup} share one budget, so they must state the same windowDays, total and perBuyer`,
        });
    }
  });
export type DatasetPolicy = z.infer<typeof datasetPolicy>;

/** The budget a dataset's charges count against: its own, or its group's (one budget for them all). */
export interface BudgetScope {
  /** Every dataset whose charges count: the dataset itself, and the others of its group. */
  datasets: string[];
  /** The group's name, or the dataset's own. */
  name: string;
  budget: DatasetBudget;
}

export function budgetScopeOf(policy: DatasetPolicy, dataset: string): BudgetScope | undefined {
  const budget = policy.datasets[dataset];
  if (!budget) return undefined;
  const group = budget.budgetGroup;
  const datasets = group
    ? Object.keys(policy.datasets).filter((d) => policy.datasets[d]!.budgetGroup === group)
    : [dataset];
  return { datasets: datasets.sort(), name: group ?? dataset, budget };
}

export const datasetPolicySignature = z.strictObject({
  seller: z.string(),
  policyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  publicKey: z.string(),
  signature: z.string(),
});
export type DatasetPolicySignature = z.infer<typeof datasetPolicySignature>;

const signedMessage = (hash: string) => `tusk dataset policy v1\n${hash}`;

export function signDatasetPolicy(
  policy: DatasetPolicy,
  sellerPrivateKeyPem: string,
): DatasetPolicySignature {
  const policyHash = canonicalHash(policy);
  return {
    seller: policy.seller,
    policyHash,
    publicKey: publicKeyOf(sellerPrivateKeyPem),
    signature: signEd25519(sellerPrivateKeyPem, signedMessage(policyHash)),
  };
}

/** Checked against the key the perimeter trusts for its seller, never the key inside the file. */
export function checkDatasetPolicySignature(
  policy: DatasetPolicy,
  signature: DatasetPolicySignature,
  trustedSellerKey: string,
): { ok: true; hash: string } | { ok: false; reason: string } {
  const hash = canonicalHash(policy);
  if (signature.policyHash !== hash)
    return {
      ok: false,
      reason: `the policy changed after signing (now ${hash}, signed ${signature.policyHash})`,
    };
  if (!verifyEd25519(trustedSellerKey, signedMessage(hash), signature.signature))
    return { ok: false, reason: `the signature does not verify with seller ${policy.seller}'s key` };
  return { ok: true, hash };
}
