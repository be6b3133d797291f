import { log } from '@temporalio/activity';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import { buildResultPayload, buyerKeyDocument, resultCommitment, sealResult } from '../../lib/sealed-result';
import type { ParameterValues, QueryTemplate } from '../../query-policies/template';
import { createTemplateGuard } from './approved-template';
import { cohortAggregateSql } from './cohort-sql';
import { complianceProblem } from '../../query-policies/compliance';
import { noisePlan } from '../../query-policies/noise-plan';
import type { RandomSource } from './dp/random-source';
import { BudgetExhaustedError, PrivacyLedger } from './privacy-ledger';
import { ReleaseCache } from './release-cache';
import type { ReleasedTable } from '../../lib/released-table';
import { releasePrivately } from './private-release';
import { createMilestoneCheckActivities } from './milestone-check';
import { refuse } from './refusal';
import { authorizeQuery, type QueryCall } from './deal-terms';
import { runInSandbox } from './sandboxed-run';
import type { SandboxLimits } from './sandbox';
import { SandboxPool } from './sandbox-pool';
import { createHeAnswers, type Release, type ReleaseInput } from './he-answers';
import type {
  EncryptContributionInput,
  PrivacyReservation,
  ReservePrivacyInput,
  RunApprovedQueryInput,
  RunApprovedQueryResult,
} from './types';

export interface PerimeterDeps {
  sellerId: string;
  /** The seller's own Ed25519 public key: the only signer the perimeter trusts. */
  sellerPublicKey: string;
  policiesDir: string;
  /** Dataset name → DuckDB file. */
  datasets: Record<string, string>;
  /** The perimeter's own state: privacy ledger and released answers. Never leaves the perimeter. */
  stateDir: string;
  blobs: BlobStore;
  limits: SandboxLimits;
  queryTimeoutMs: number;
  /** Noise source: the cryptographic RNG in production. */
  random: RandomSource;
}

const DAY_MS = 86_400_000;
const windowMs = (template: QueryTemplate) => template.budget.windowDays * DAY_MS;
const queryKeyOf = (buyerId: string, templateHash: string, parameters: ParameterValues) =>
  canonicalHash({ buyerId, templateHash, parameters });

interface CachedRelease {
  dealId: string;
  table: ReleasedTable;
}

export function createPerimeterActivities(deps: PerimeterDeps) {
  const sandboxes = new SandboxPool(deps.datasets, deps.limits);
  const approve = createTemplateGuard({ ...deps, sandboxes });
  const ledger = new PrivacyLedger(deps.stateDir);
  const releases = new ReleaseCache(deps.stateDir);
  // Identical queries are computed one at a time, so the second finds the first's answer.
  const inFlight = new Map<string, Promise<unknown>>();

  function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const next = (inFlight.get(key) ?? Promise.resolve()).then(work, work);
    inFlight.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  const aggregate = (template: QueryTemplate, parameters: ParameterValues) =>
    runInSandbox(sandboxes, template.dataset, cohortAggregateSql(template), parameters, deps.queryTimeoutMs);

  async function buyerPublicKey(ref: string): Promise<string> {
    try {
      return buyerKeyDocument.parse(JSON.parse((await deps.blobs.get(ref)).toString('utf8'))).publicKey;
    } catch {
      refuse('InvalidBuyerKey', `no readable X25519 buyer key at ${ref}`);
    }
  }

  /**
   * Checks everything the seller requires before money moves: the template, the parameters, the
   * deal's declared jurisdiction, purpose and data classes, and the buyer's privacy budget — then
   * reserves the answer's epsilon. A repeat of an answered query reserves nothing.
   */
  async function reservePrivacyBudget(call: ReservePrivacyInput): Promise<PrivacyReservation> {
    const input = authorized(call);
    const { template, parameters } = await approve(input);
    const problem = complianceProblem(template, input.compliance);
    if (problem) refuse('ComplianceRefused', problem);
    const now = Date.now();
    const queryKey = queryKeyOf(input.buyerId, input.templateHash, parameters);
    const repeat = (await releases.find(queryKey, now - windowMs(template))) !== undefined;
    try {
      const reservation = await ledger.reserve({
        dealId: input.dealId,
        buyerId: input.buyerId,
        dataset: template.dataset,
        queryKey,
        epsilon: repeat ? 0 : template.privacy.epsilon,
        budgetEpsilon: template.budget.epsilon,
        windowMs: windowMs(template),
        now,
      });
      return { epsilon: reservation.microEpsilon / 1_000_000, repeat: reservation.microEpsilon === 0 };
    } catch (error) {
      if (error instanceof BudgetExhaustedError) refuse('BudgetExhausted', error.message);
      throw error;
    }
  }

  /** Gives back a failed deal's reservation; a committed one stays spent. */
  async function releasePrivacyBudget(input: { dealId: string }): Promise<void> {
    await ledger.release(input.dealId, Date.now());
  }

  /**
   * The released table for a deal holding a reservation: aggregated with bounded contributions,
   * small groups withheld, discrete noise added, the epsilon committed. Computed once per identical
   * query and window; a repeat gets the stored table again, free.
   */
  async function releaseFor(input: ReleaseInput): Promise<Release> {
    const { template, parameters } = await approve(input);
    const reservation = (await ledger.reservations()).get(input.dealId);
    if (!reservation || reservation.state === 'released')
      refuse('NoReservation', `deal ${input.dealId} holds no privacy reservation`);
    const queryKey = queryKeyOf(input.buyerId, input.templateHash, parameters);
    const { table, repeat } = await oneAtATime(queryKey, async () => {
      const cached = await releases.find<CachedRelease>(queryKey, reservation.at - windowMs(template));
      if (cached) return { table: cached.table, repeat: cached.dealId !== input.dealId };
      const released = releasePrivately(
        template,
        noisePlan(template),
        await aggregate(template, parameters),
        deps.random,
      );
      await releases.store<CachedRelease>(queryKey, { dealId: input.dealId, table: released }, Date.now());
      return { table: released, repeat: false };
    });
    const committed = await ledger.commit(input.dealId, repeat ? 0 : template.privacy.epsilon, Date.now());
    return { template, parameters, table, repeat, epsilonSpent: committed.microEpsilon / 1_000_000 };
  }

  const he = createHeAnswers({ blobs: deps.blobs, releaseFor });

  /**
   * Signed terms first, before anything is read or reserved. Budgets and repeat answers are keyed
   * by the verified signing key, never by the buyer id that arrived through Temporal.
   */
  function authorized<T extends QueryCall & { buyerId: string }>(call: T): T {
    return { ...call, buyerId: authorizeQuery(call, deps.sellerId) };
  }

  /**
   * The only way into the seller's data: an approved template with a reservation; the released
   * table is sealed to the buyer's key (or, for a private selection, only the selected groups come
   * out, encrypted). Only a blob reference, a commitment and counts leave the perimeter.
   */
  async function runApprovedQuery(call: RunApprovedQueryInput): Promise<RunApprovedQueryResult> {
    const input = authorized(call);
    if (input.privateSelection) return he.runPrivateSelection(input, input.privateSelection);
    const buyerKey = await buyerPublicKey(input.buyerKeyRef);
    const { template, parameters, table, repeat, epsilonSpent } = await releaseFor(input);
    const payload = buildResultPayload(
      { dealId: input.dealId, templateId: template.id, templateHash: input.templateHash, parameters },
      { ...table, privacy: { ...table.privacy, epsilonSpent } },
    );
    const resultRef = await deps.blobs.put(sealResult(payload, buyerKey));
    log.info('approved query released', {
      dealId: input.dealId,
      repeat,
      groupsReleased: table.privacy.groupsReleased,
    });
    return {
      resultRef,
      commitment: resultCommitment(payload),
      groupsReleased: table.privacy.groupsReleased,
      groupsSuppressed: table.privacy.groupsSuppressed,
      epsilonSpent,
      repeat,
    };
  }

  return {
    reservePrivacyBudget,
    releasePrivacyBudget,
    runApprovedQuery,
    ...createMilestoneCheckActivities({ approve, sandboxes, queryTimeoutMs: deps.queryTimeoutMs }),
    encryptContribution: (call: EncryptContributionInput) => he.encryptContribution(authorized(call)),
  };
}

export type PerimeterActivities = ReturnType<typeof createPerimeterActivities>;
