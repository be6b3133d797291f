import type { X25519KeyPair } from '../../lib/sealed-box';
import { log } from '@temporalio/activity';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import { buildResultPayload, buyerKeyDocument, sealCommittedResult } from '../../lib/sealed-result';
import type { ParameterValues, QueryTemplate } from '../../query-policies/template';
import { createTemplateGuard } from './approved-template';
import { createDraftPreviewActivities } from './draft-preview';
import { cohortAggregateSql } from '../../query-policies/cohort-sql';
import { complianceProblem } from '../../query-policies/compliance';
import { answerCost, noisePlan } from '../../query-policies/noise-plan';
import type { RandomSource } from './dp/random-source';
import {
  BudgetExhaustedError,
  LedgerUnavailableError,
  ReservationStateError,
  TermsConflictError,
  windowStartOf,
  type PrivacyLedger,
  type ReservationKey,
} from './privacy-ledger';
import { budgetScopeOf, type BudgetScope } from '../../query-policies/dataset-policy';
import { DatasetPolicyError, readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';
import { isFree, privacyCost } from '../../query-policies/privacy-cost';
import type { ReleasedTable } from '../../lib/released-table';
import { releasePrivately } from './private-release';
import { rowsBytesBound } from '../../query-policies/result-size';
import { createMilestoneCheckActivities, type ChargeMilestone } from './milestone-check';
import { MilestoneRuns } from './milestone-runs';
import { heartbeating } from './heartbeating';
import { refuse } from './refusal';
import {
  authorizeQueryTerms,
  freshAnswerDeadlineOf,
  refuseExpiredTerms,
  requireRegisteredSigner,
  termsHashOf,
  termsNonceOf,
  type QueryCall,
} from './deal-terms';
import type { RegisteredKeys } from '../../lib/key-log';
import { signRelease, tableReleaseKind, type PerimeterKey, type ReleaseToSign } from './release-signing';
import { logReleaseBeforeReturn, type ReleaseLogging } from './release-logging';
import { runInSandbox } from './sandboxed-run';
import { confirmExpiry, withdrawDeal, withSignedRefusal } from './signed-refusal';
import type { SandboxLimits } from './sandbox';
import { SandboxPool } from './sandbox-pool';
import { createHeAnswers, type Release, type ReleaseInput } from './he-answers';
import type {
  EncryptContributionInput,
  PrivacyBudgetInput,
  PrivacyBudgetResult,
  PrivacyReservation,
  ReservePrivacyInput,
  RunApprovedQueryInput,
  RunApprovedQueryResult,
} from './types';

export interface PerimeterDeps extends ReleaseLogging {
  sellerId: string;
  /** The seller's own Ed25519 public key: the only signer the perimeter trusts. */
  sellerPublicKey: string;
  policiesDir: string;
  /** Dataset name → DuckDB file. */
  datasets: Record<string, string>;
  /** Privacy accounting and released answers, opened (and locked) by the worker. Never leaves the perimeter. */
  ledger: PrivacyLedger;
  blobs: BlobStore;
  limits: SandboxLimits;
  queryTimeoutMs: number;
  /** Each milestone's sparse-vector run, in its own file beside the ledger. */
  milestoneRuns: MilestoneRuns;
  /** Noise source: the cryptographic RNG in production. */
  random: RandomSource;
  /** The parties' registered keys (the transparency log): terms count only under the signer's own. */
  keys: RegisteredKeys;
  /** The perimeter's own key: it signs what it releases (lib/release-statement.ts). */
  releaseKey: PerimeterKey;
  /** The perimeter's X25519 key: proposed drafts are sealed to it (query-policies/sealed-draft.ts). */
  sealingKey?: X25519KeyPair;
}

const queryKeyOf = (buyerId: string, templateHash: string, parameters: ParameterValues) =>
  canonicalHash({ buyerId, templateHash, parameters });

/** Ledger faults become refusals: nothing is charged or answered on a ledger the perimeter cannot trust. */
function onLedger<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof BudgetExhaustedError) refuse('BudgetExhausted', error.message);
    if (error instanceof LedgerUnavailableError) refuse('LedgerUnavailable', error.message);
    if (error instanceof ReservationStateError) refuse('NoReservation', error.message);
    if (error instanceof TermsConflictError) refuse('TermsConflict', error.message);
    throw error;
  }
}

/** Whether the buyer's signed notAfter has passed (an unreadable one counts as passed). */
function freshAnswerExpired(terms: RunApprovedQueryInput['terms'], now: number): boolean {
  const deadline = freshAnswerDeadlineOf(terms);
  return deadline !== undefined && !(now <= deadline);
}

export function createPerimeterActivities(deps: PerimeterDeps) {
  const sandboxes = new SandboxPool(deps.datasets, deps.limits);
  const approve = createTemplateGuard({ ...deps, sandboxes });
  const { ledger } = deps;
  // Identical queries are computed one at a time, so the second finds the first's answer.
  const inFlight = new Map<string, Promise<unknown>>();

  function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const next = (inFlight.get(key) ?? Promise.resolve()).then(work, work);
    // The chain holds no answer, and its key goes once the last query for it is done (the stored
    // answer is in the ledger): a map of every answer ever computed grew the heap each GC scans.
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    inFlight.set(key, settled);
    void settled.then(() => {
      if (inFlight.get(key) === settled) inFlight.delete(key);
    });
    return next;
  }

  // A failure of this statement (after the reservation) throws the one uniform refusal,
  // QueryFailedAfterReservation (isQueryFailedAfterReservation in ./sandboxed-run): releaseFor
  // charges the deal's reservation in full for it, never releases it (PRIVACY.md, "Errors").
  const aggregate = (template: QueryTemplate, parameters: ParameterValues) =>
    runInSandbox(sandboxes, template, cohortAggregateSql(template), parameters, deps.queryTimeoutMs);

  /**
   * The dataset's budgets, only ever from the seller's signed dataset policy (verified with the
   * perimeter's own seller key on every call, so a re-signed policy applies at once), never from a
   * template, shared with the datasets the seller marked as holding the same people. No policy, or
   * no entry for the dataset: nothing is reserved.
   */
  async function budgetOf(dataset: string): Promise<BudgetScope> {
    let policy;
    try {
      policy = await readTrustedDatasetPolicy(deps.policiesDir, deps.sellerId, deps.sellerPublicKey);
    } catch (error) {
      if (error instanceof DatasetPolicyError)
        refuse(
          'DatasetPolicyMissing',
          `seller ${deps.sellerId} has no usable dataset policy: ${error.message}`,
        );
      throw error;
    }
    const budget = budgetScopeOf(policy, dataset);
    if (!budget)
      refuse(
        'DatasetPolicyMissing',
        `seller ${deps.sellerId}'s signed dataset policy sets no budget for ${dataset}`,
      );
    return budget;
  }

  async function buyerPublicKey(ref: string): Promise<string> {
    try {
      return buyerKeyDocument.parse(JSON.parse((await deps.blobs.get(ref)).toString('utf8'))).publicKey;
    } catch {
      refuse('InvalidBuyerKey', `no readable X25519 buyer key at ${ref}`);
    }
  }

  /**
   * Checks everything the seller requires before money moves: the template, the parameters, the
   * deal's declared jurisdiction, purpose and data classes, and the budgets the seller's dataset
   * policy sets (the buyer's, and all buyers' together) — then reserves the answer's cost. A query
   * whose answer is stored reserves nothing: it is charged in full later if that answer is gone.
   */
  async function reservePrivacyBudget(call: ReservePrivacyInput): Promise<PrivacyReservation> {
    const input = await authorized(call);
    const { template, parameters } = await approve(input);
    const problem = complianceProblem(template, input.compliance);
    if (problem) refuse('ComplianceRefused', problem);
    const scope = await budgetOf(template.dataset);
    const queryKey = queryKeyOf(input.buyerId, input.templateHash, parameters);
    const now = Date.now();
    // Expired terms reserve nothing new; a retry of a reservation made in time finds it again.
    const { dealId, nonce, termsHash, buyerId } = input;
    const held = onLedger(() => ledger.reservation({ dealId, nonce, termsHash, buyerId }));
    if (!held) refuseExpiredTerms(input.terms, now);
    // Free when an identical query is answered or in flight: this deal then waits for that answer.
    const reservation = onLedger(() =>
      ledger.reserve({
        dealId: input.dealId,
        nonce: input.nonce,
        termsHash: input.termsHash,
        buyerId: input.buyerId,
        dataset: template.dataset,
        queryKey,
        cost: answerCost(template),
        scope,
        now,
      }),
    );
    const free = isFree(reservation.cost);
    return { epsilon: free ? 0 : noisePlan(template).epsilon, repeat: free };
  }

  /**
   * Gives back a failed deal's reservation when no data was read for it (a refusal before the query
   * ran); one whose query started is charged instead, and a committed one stays spent.
   */
  async function releasePrivacyBudget(input: { dealId: string }): Promise<void> {
    onLedger(() => ledger.release(input.dealId, Date.now()));
  }

  /** What is spent and left on a dataset: the buyer's own (when given) and all buyers' together. Figures only. */
  async function privacyBudget(input: PrivacyBudgetInput): Promise<PrivacyBudgetResult> {
    const scope = await budgetOf(input.dataset);
    const figures = onLedger(() => ledger.remaining(input.dataset, scope, input.buyerId ?? '', Date.now()));
    const { buyer, ...total } = figures;
    return input.buyerId === undefined ? total : { ...total, buyer };
  }

  /** A deal the perimeter refused (and signed so) under these terms is never answered under them. */
  function refuseIfRefused(key: ReservationKey): void {
    if (onLedger(() => ledger.outcomeOf(key.dealId, key.termsHash)) === 'refused')
      refuse('DealRefused', `the perimeter refused deal ${key.dealId} under these terms before`);
  }

  /** Records the answer as the deal's outcome; a refusal signed meanwhile keeps it from going out. */
  function claimRelease(key: ReservationKey): void {
    if (onLedger(() => ledger.claimOutcome(key.dealId, key.termsHash, 'released', Date.now())) === 'refused')
      refuse('DealRefused', `the perimeter refused deal ${key.dealId} under these terms before`);
  }

  /**
   * The released table for a deal holding a reservation bound to its signed terms: aggregated with
   * bounded contributions, small groups withheld, discrete noise added. Fails closed: the reservation
   * is raised to the full cost and marked before any data is read; a fresh answer's cost is committed
   * in the same SQLite transaction that stores it, before it is sealed or encrypted; a query that
   * fails or times out after that is charged in full (an error depends on the data too). A deal is
   * free only when the stored answer of an identical query is what it gets.
   */
  async function releaseFor(input: ReleaseInput): Promise<Release> {
    const { template, parameters } = await approve(input);
    const scope = await budgetOf(template.dataset);
    const key: ReservationKey = {
      dealId: input.dealId,
      nonce: termsNonceOf(input.terms),
      termsHash: termsHashOf(input.terms),
      buyerId: input.buyerId,
    };
    const reservation = onLedger(() => ledger.reservation(key));
    if (!reservation || reservation.state === 'released')
      refuse('NoReservation', `deal ${input.dealId} holds no privacy reservation`);
    const queryKey = queryKeyOf(input.buyerId, input.templateHash, parameters);
    // Identical queries run one at a time, so one in flight is waited for and its answer served.
    const { table, repeat, charged } = await oneAtATime(queryKey, async () => {
      refuseIfRefused(key);
      const stored = onLedger(() =>
        ledger.findAnswer<ReleasedTable>(key, queryKey, windowStartOf(scope.budget, Date.now())),
      );
      if (stored) {
        const committed = onLedger(() => ledger.commitRepeat(key, Date.now()));
        claimRelease(key);
        return { table: stored.answer, repeat: !stored.own, charged: committed.cost };
      }
      // A stored answer is served whenever asked; a fresh one only within the buyer's signed time.
      refuseExpiredTerms(input.terms, Date.now());
      onLedger(() => ledger.startRun(key, answerCost(template), scope, Date.now()));
      let released: ReleasedTable;
      try {
        released = releasePrivately(
          template,
          noisePlan(template),
          await aggregate(template, parameters),
          deps.random,
        );
      } catch (error) {
        onLedger(() => ledger.chargeFailure(key, Date.now()));
        throw error;
      }
      // Past the buyer's notAfter, a fresh answer is charged but never released: settlement may then
      // refund the deal on its own clock, so no answer may go out later than that.
      if (freshAnswerExpired(input.terms, Date.now())) {
        onLedger(() => ledger.chargeFailure(key, Date.now()));
        refuseExpiredTerms(input.terms, Date.now());
      }
      const committed = onLedger(() => ledger.commitAnswer(key, Date.now(), { queryKey, answer: released }));
      claimRelease(key);
      return { table: released, repeat: false, charged: committed.cost };
    });
    // The answer's stated ε (what a Gaussian's ρ amounts to at its δ), or 0 when nothing was charged.
    const epsilonSpent = isFree(charged) ? 0 : noisePlan(template).epsilon;
    return { template, parameters, table, repeat, epsilonSpent };
  }

  /**
   * Everything the perimeter releases is signed by its own key (lib/release-statement.ts), and what a
   * refund could give back is in the transparency log before it is returned (./release-logging.ts).
   */
  const sign = async (release: ReleaseToSign) => {
    const statement = await signRelease({ ...deps, key: deps.releaseKey }, release);
    await logReleaseBeforeReturn(deps, statement);
    return statement;
  };

  const he = createHeAnswers({ blobs: deps.blobs, releaseFor, sign });

  /**
   * A milestone run's ε, reserved and committed at once under the run's terms: idempotent per run,
   * refused past a budget. The policy is read first; the charge itself runs inside the check's claim.
   */
  const chargeMilestone: ChargeMilestone = async ({
    chargeId,
    nonce,
    termsHash,
    payerId,
    template,
    epsilon,
  }) => {
    const scope = await budgetOf(template.dataset);
    const cost = privacyCost({ epsilon });
    return () => {
      onLedger(() =>
        ledger.charge({
          dealId: chargeId,
          nonce,
          termsHash,
          buyerId: payerId,
          dataset: template.dataset,
          cost,
          scope,
          now: Date.now(),
        }),
      );
    };
  };

  /**
   * Signed terms first, before anything is read or reserved. Budgets and repeat answers are keyed
   * by the verified signing key, never by the buyer id that arrived through Temporal.
   */
  async function authorized<T extends QueryCall & { buyerId: string }>(
    call: T,
  ): Promise<T & { termsHash: string; nonce: string }> {
    const checked = { ...call, ...authorizeQueryTerms(call, deps.sellerId) };
    await requireRegisteredSigner(call.terms, deps.keys);
    return checked;
  }

  /**
   * The only way into the seller's data: an approved template with a reservation; the released
   * table is sealed to the buyer's key (or, for a private selection, only the selected groups come
   * out, encrypted). Only a blob reference, a commitment and the answer's stated ε leave the perimeter.
   */
  async function runApprovedQuery(call: RunApprovedQueryInput): Promise<RunApprovedQueryResult> {
    const input = await authorized(call);
    if (input.privateSelection) return he.runPrivateSelection(input, input.privateSelection);
    const buyerKey = await buyerPublicKey(input.buyerKeyRef);
    const { template, parameters, table, repeat, epsilonSpent } = await releaseFor(input);
    const payload = buildResultPayload(
      { dealId: input.dealId, templateId: template.id, templateHash: input.templateHash, parameters },
      { ...table, privacy: { ...table.privacy, epsilonSpent } },
    );
    const { box, commitment } = await sealCommittedResult(payload, buyerKey, rowsBytesBound(template));
    const resultRef = await deps.blobs.put(box);
    const release = await sign({
      kind: tableReleaseKind(input.terms),
      dealId: input.dealId,
      terms: input.terms,
      commitment,
      epsilonSpent,
      template,
    });
    log.info('approved query released', { dealId: input.dealId, repeat });
    return { resultRef, commitment, epsilonSpent, repeat, release };
  }

  return heartbeating({
    reservePrivacyBudget,
    releasePrivacyBudget,
    withdrawDeal: withdrawDeal(deps),
    confirmExpiry: confirmExpiry(deps),
    privacyBudget,
    runApprovedQuery: withSignedRefusal(deps, runApprovedQuery),
    ...createMilestoneCheckActivities({
      approve,
      sandboxes,
      queryTimeoutMs: deps.queryTimeoutMs,
      runs: deps.milestoneRuns,
      charge: chargeMilestone,
      random: deps.random,
      keys: deps.keys,
      sign,
    }),
    encryptContribution: withSignedRefusal(deps, async (call: EncryptContributionInput) =>
      he.encryptContribution(await authorized(call)),
    ),
    // A proposed template's preview: on a synthetic twin of the declared domains, never on the dataset.
    ...createDraftPreviewActivities(deps),
  });
}

export type PerimeterActivities = ReturnType<typeof createPerimeterActivities>;
