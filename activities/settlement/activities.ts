import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  ExtensionLeaves,
  ExtensionLog,
  KeyHistory,
  RegisteredKeys,
  ReleaseLog,
} from '../../lib/key-log';
import type { SignedTerms } from '../../lib/signed-terms';
import { requirePayerSigned } from './payer-key';
import type { PayerKeyRecords } from './payer-key-record';
import {
  SettlementRefusedError,
  type LockEscrowInput,
  type OpenEscrowInput,
  type RefundEscrowInput,
  type RefundRemainderInput,
  type ReleaseEscrowInput,
  type ReleasePartInput,
  type ReturnLatePaymentsInput,
  type SettlementPort,
  type SplitEscrowInput,
} from './port';
import { assertSignedMove } from './signed-payment';
import { requireTrancheProof, type TrancheProof } from './tranche-proof';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import {
  recordDelivery,
  requireBuyerConsent,
  type DeliveryRecords,
  type RecordDeliveryInput,
} from './acceptance';
import type { SignedDecision } from '../../lib/signed-decision';
import { paidPartKey, requireRefundConsent, requireRemainderDue, requireSplitVotes } from './loser-consent';

/** How often a running settlement activity tells Temporal it is alive (well under its heartbeat timeout). */
const HEARTBEAT_MS = 2_000;

/**
 * Runs one port call as an activity: heartbeats while it proves, sends and waits for inclusion (or for
 * the buyer's payment), and turns business refusals into non-retryable failures with their code.
 */
async function asActivity<T>(action: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
  try {
    return await action();
  } catch (error) {
    if (error instanceof SettlementRefusedError)
      throw ApplicationFailure.nonRetryable(error.message, error.refusal);
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

export interface SettlementActivityOptions {
  /** How long the buyer has to pay into the escrow, counted from when the lock was first scheduled. */
  paymentWindowMs: number;
  /**
   * The transparency log's keys: a lock needs the payer's terms under the key it registers for the
   * payer. And its releases: an expired deal nobody showed delivered is refunded only when none is logged;
   * and the grants' extensions: a remainder waits for every deadline the sponsor extended.
   */
  keys: RegisteredKeys & KeyHistory & ReleaseLog & ExtensionLog & ExtensionLeaves;
  /** When settlement was shown each deal's delivery: the signed acceptance window counts from it. */
  deliveries: DeliveryRecords;
  /** The payer's key each terms were first locked under: later locks on them check that key (./payer-key.ts). */
  payerKeys?: PayerKeyRecords;
}

/** A whole payout may carry the buyer's signed confirmation; without one the signed window must have passed. */
type ConsentedRelease = ReleaseEscrowInput & {
  confirmation?: SignedDecision;
  /** The perimeter's signed release statement: records the delivery if it never was. */
  release?: unknown;
};

/**
 * Every move of money carries the payer's signed terms: the activity checks the move against them
 * (signature, payer, amount, fee, payee, escrow nonce, expiry) before the adapter moves anything.
 */
type Signed<T> = T & { terms: SignedTerms };
/** A lock also says whom the lifecycle will pay and at what fee: a mismatch locks nothing. */
type SignedLock<T> = Signed<T> & { payeeId?: string; feeBps?: number };
/** A refund or split may carry a dispute's signed compliance votes: the seller's side of its loss. */
type Voted<T> = Signed<T> & { votes?: SignedDecision[] };
/** A refund may instead carry the seller's own signed consent to give the escrow back. */
type ConsentedRefund = Voted<RefundEscrowInput> & {
  consent?: SignedDecision;
  /** An undelivered escrow's refund: the perimeter's signed refusal of the deal (./refund-proof.ts). */
  refusal?: unknown;
};
/** A remainder may carry the grantee's consent to an early return, and the sponsor's signed extensions. */
type ConsentedRemainder = Signed<RefundRemainderInput> & {
  consent?: SignedDecision;
  extensions?: SignedDecision[];
};

/** The terms are dropped before the port: the adapter moves money, the activity decides if it may. */
function checked<T extends { terms: SignedTerms }>(
  input: T,
  move: Parameters<typeof assertSignedMove>[0],
): Omit<T, 'terms'> {
  assertSignedMove(move, input.terms, Date.now());
  const { terms: _terms, ...rest } = input;
  return rest;
}

/** A lock's payee and fee are only for the check: the adapter locks the payment, nothing else. */
function checkedLock<T extends OpenEscrowInput>(input: SignedLock<T>): Omit<T, 'payeeId' | 'feeBps'> {
  const {
    payeeId: _payee,
    feeBps: _fee,
    ...rest
  } = checked<SignedLock<T>>(input, {
    action: 'lock',
    escrowId: input.dealId,
    payerId: input.buyerId,
    amount: input.amount,
    ...(input.payeeId === undefined ? {} : { payeeId: input.payeeId }),
    ...(input.feeBps === undefined ? {} : { feeBps: input.feeBps }),
  });
  return rest as Omit<T, 'payeeId' | 'feeBps'>;
}

/** Settlement activities (task queue `settlement`) over whichever adapter the worker was given. */
export function createSettlementActivities(port: SettlementPort, options: SettlementActivityOptions) {
  return {
    openEscrow: (input: SignedLock<OpenEscrowInput>) =>
      asActivity(async () => {
        // Who signed first (the payer's logged key), then what: the money the terms state.
        await requirePayerSigned(input, options.keys, options.payerKeys);
        return port.openEscrow(checkedLock(input));
      }),
    lockEscrow: (input: SignedLock<LockEscrowInput>) =>
      asActivity(async () => {
        await requirePayerSigned(input, options.keys, options.payerKeys);
        return port.lockEscrow({
          ...checkedLock(input),
          // From the first attempt's scheduling: a retry after a crash does not restart the window.
          payBy: input.payBy ?? Context.current().info.scheduledTimestampMs + options.paymentWindowMs,
          signal: Context.current().cancellationSignal,
        });
      }),
    /** Records, once, when settlement was shown the perimeter's signed release for a deal's escrow. */
    recordDelivery: (input: RecordDeliveryInput) =>
      asActivity(() =>
        recordDelivery(input, { keys: options.keys, records: options.deliveries, now: Date.now() }),
      ),
    releaseEscrow: (input: Signed<ConsentedRelease>) =>
      asActivity(async () => {
        const { confirmation, release: statement, ...release } = input;
        const move = checked(release, {
          action: 'release',
          escrowId: input.dealId,
          payeeId: input.sellerId,
          ...(input.buyerId === undefined ? {} : { payerId: input.buyerId }),
          amount: input.amount,
          feeBps: input.feeBps,
        });
        await requireBuyerConsent(
          {
            dealId: input.dealId,
            terms: input.terms,
            ...(confirmation ? { confirmation } : {}),
            ...(statement === undefined ? {} : { release: statement }),
          },
          {
            keys: options.keys,
            records: options.deliveries,
            now: Date.now(),
            asking: Context.current().info.workflowExecution,
          },
        );
        return port.releaseEscrow(move);
      }),
    refundEscrow: ({ votes, consent, refusal, ...input }: ConsentedRefund) =>
      asActivity(async () => {
        const move = checked(input, {
          action: 'refund',
          escrowId: input.dealId,
          payerId: input.buyerId,
          amount: input.amount,
        });
        // Who loses by it: a delivered escrow's refund is the seller's loss, decided by signed votes.
        await requireRefundConsent(
          { dealId: input.dealId, terms: input.terms, votes, consent, refusal },
          { keys: options.keys, records: options.deliveries, now: Date.now() },
        );
        return port.refundEscrow(move);
      }),
    releasePart: ({ proof, ...input }: Signed<ReleasePartInput> & { proof?: TrancheProof }) =>
      asActivity(async () => {
        const move = checked(input, {
          action: 'release_part',
          escrowId: input.dealId,
          partId: input.partId,
          payeeId: input.payeeId,
          amount: input.amount,
          feeBps: input.feeBps,
        });
        // A grant's tranche moves only on the deciding party's signature: the seller's verdict or the sponsor's approval.
        if (parseEscrowId(input.dealId)?.kind === 'grant')
          await requireTrancheProof(
            { partId: input.partId, terms: input.terms, ...(proof ? { proof } : {}) },
            options.keys,
            Context.current().info.workflowExecution,
          );
        const released = await port.releasePart(move);
        // Settlement's own record of what the grantee was paid: the remainder waits for the rest.
        await options.deliveries.recordOnce(paidPartKey(input.dealId, input.partId), Date.now());
        return released;
      }),
    refundRemainder: ({ consent, extensions, ...input }: ConsentedRemainder) =>
      asActivity(async () => {
        const move = checked(input, {
          action: 'refund_remainder',
          escrowId: input.dealId,
          payerId: input.funderId,
        });
        await requireRemainderDue(
          { dealId: input.dealId, terms: input.terms, consent, extensions },
          { keys: options.keys, records: options.deliveries, now: Date.now() },
        );
        return port.refundRemainder(move);
      }),
    splitEscrow: ({ votes, ...input }: Voted<SplitEscrowInput>) =>
      asActivity(async () => {
        const move = checked(input, {
          action: 'split',
          escrowId: input.dealId,
          splitId: input.splitId,
          payerId: input.buyerId,
          payeeId: input.sellerId,
          amount: input.amount,
          sellerAmount: input.sellerAmount,
          feeBps: input.feeBps,
        });
        await requireSplitVotes(
          { terms: input.terms, amount: input.amount, sellerAmount: input.sellerAmount, votes },
          options.keys,
        );
        return port.splitEscrow(move);
      }),
    returnLatePayments: (input: Signed<ReturnLatePaymentsInput>) =>
      asActivity(() =>
        port.returnLatePayments({
          ...checked(input, { action: 'return_late', escrowId: input.dealId, payerId: input.payerId }),
          // Twice the payment window: a payer who started paying just before the lock gave up lands too.
          watchUntil:
            input.watchUntil ?? Context.current().info.scheduledTimestampMs + 2 * options.paymentWindowMs,
          signal: Context.current().cancellationSignal,
        }),
      ),
    recordReceipt: (input: Parameters<SettlementPort['recordReceipt']>[0]) =>
      asActivity(() => port.recordReceipt(input)),
    anchorTreeHead: (input: Parameters<SettlementPort['anchorTreeHead']>[0]) =>
      asActivity(() => port.anchorTreeHead(input)),
    /** Read-only: what a payer could pay now, or null where settlement cannot tell. */
    spendableBalance: async ({ account }: { account: string }) =>
      (await port.spendableBalance(account)) ?? null,
  };
}

export type SettlementActivities = ReturnType<typeof createSettlementActivities>;
