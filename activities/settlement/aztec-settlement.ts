import { setTimeout as sleep } from 'node:timers/promises';
import { deriveDealSecret } from '../../contracts/deal-secrets';
import { dealEscrow, withdrawals, type DealEscrow } from '../../contracts/escrow';
import { anchorCall } from '../../contracts/anchors';
import { receiptCalls as receiptCallsFor } from '../../contracts/receipts';
import { anchorId } from '../../lib/ids/anchor-id';
import type {
  AztecAddress,
  AztecSdk,
  EmbeddedWallet,
  ExecutionPayload,
  Interaction,
} from '../../contracts/sdk';
import type { SettlementContracts } from '../../contracts/settlement-contracts';
import { privateBalance } from '../../contracts/token';
import type { PartyRegistry } from '../../lib/parties';
import { SettlementTransactions, type Followed } from './aztec-transactions';
import type { JournalEntry, SettlementAction } from './tx-journal';
import {
  parseAmount,
  SettlementRefusedError,
  type AnchorTreeHeadInput,
  type TreeHeadAnchored,
  splitFee,
  type EscrowLocked,
  type EscrowOpened,
  type EscrowRefunded,
  type EscrowReleased,
  type LockEscrowInput,
  type OpenEscrowInput,
  type PartReleased,
  type ReceiptRecorded,
  type RecordReceiptInput,
  type RefundEscrowInput,
  type RefundRemainderInput,
  type ReleaseEscrowInput,
  type ReleasePartInput,
  type RemainderRefunded,
  type SettlementPort,
  type SplitEscrowInput,
  type EscrowSplit,
  type ReturnLatePaymentsInput,
  type LatePaymentsReturned,
  requireEscrowId,
  splitPayouts,
} from './port';
import { blindedReceiptId } from '../../lib/ids/receipt-id';

export interface AztecSettlementDeps {
  sdk: AztecSdk;
  /** The operator's wallet: its account pays fees, owns every escrow and receives the platform fee. */
  wallet: EmbeddedWallet;
  operator: AztecAddress;
  contracts: SettlementContracts;
  escrowMaster: Buffer;
  /** Read on each call, so parties registered after the worker started are known. */
  parties: () => Promise<PartyRegistry>;
  transactions: SettlementTransactions;
  /** How often to look at an escrow while waiting for the buyer's payment. */
  pollMs?: number;
}

function feeSplit(amount: bigint, feeBps: number) {
  try {
    return splitFee(amount, feeBps);
  } catch (error) {
    return refuse('InvalidAmount', (error as Error).message);
  }
}

const refuse = (...args: ConstructorParameters<typeof SettlementRefusedError>) => {
  throw new SettlementRefusedError(...args);
};

/**
 * Settlement on Aztec. Every deal has its own escrow contract, derived from the escrow master secret
 * and the deal id; the buyer pays into it privately from its own wallet; release pays the seller and
 * the platform fee in one transaction, refund returns the payment; the receipt is a private NFT whose
 * public id is the blinded result commitment. Every transaction is journaled before it is sent, and a
 * repeated call follows the journaled one, so nothing is paid twice.
 */
export class AztecSettlement implements SettlementPort {
  constructor(private readonly deps: AztecSettlementDeps) {}

  /**
   * No transaction: the escrow's address derives from its keys, so the buyer can pay into it before it
   * exists on chain. Its constructor runs in the first transaction that pays out of it.
   */
  async openEscrow(input: OpenEscrowInput): Promise<EscrowOpened> {
    requireEscrowId(input.dealId);
    parseAmount(input.amount);
    await this.registerBuyer(input.buyerId);
    const escrow = await this.escrow(input.dealId);
    return { dealId: input.dealId, escrowAddress: escrow.address.toString(), amount: input.amount };
  }

  async lockEscrow(input: LockEscrowInput): Promise<EscrowLocked> {
    requireEscrowId(input.dealId);
    const price = parseAmount(input.amount);
    const buyer = await this.registerBuyer(input.buyerId);
    // A wrong payment already went back: the lock stays refused, for the same reason.
    const returned = await this.deps.transactions.follow(input.dealId, 'return');
    if (returned.kind === 'landed') refuse('EscrowMismatch', returned.entry.refusal ?? 'payment returned');
    const escrow = await this.escrow(input.dealId);
    for (;;) {
      const held = await this.balanceOf(escrow);
      if (held === price) return { dealId: input.dealId, amount: input.amount };
      const late = input.payBy !== undefined && Date.now() > input.payBy;
      if (held > price)
        return this.returnPayment(
          input.dealId,
          escrow,
          buyer,
          held,
          `received ${held}, the deal costs ${price}`,
        );
      if (late && held > 0n)
        return this.returnPayment(
          input.dealId,
          escrow,
          buyer,
          held,
          `received ${held} of ${price} before the payment window closed`,
        );
      if (late) refuse('PaymentNotReceived', `no payment reached escrow ${input.dealId} in time`);
      await sleep(this.deps.pollMs ?? 1_000, undefined, { signal: input.signal });
    }
  }

  async releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased> {
    requireEscrowId(input.dealId);
    const price = parseAmount(input.amount);
    let split: ReturnType<typeof splitFee>;
    try {
      split = splitFee(price, input.feeBps);
    } catch (error) {
      return refuse('InvalidAmount', (error as Error).message);
    }
    const seller = await this.partyAddress(input.sellerId);
    const buyer = input.buyerId ? await this.registerBuyer(input.buyerId) : undefined;
    if (input.receiptFor !== undefined && !buyer)
      refuse('UnknownParty', 'a receipt needs the buyer it is issued to');
    const receipt =
      input.receiptFor === undefined ? undefined : this.receiptOf(input.dealId, input.receiptFor);
    const released = {
      dealId: input.dealId,
      sellerAmount: split.sellerAmount.toString(),
      feeAmount: split.feeAmount.toString(),
      ...(receipt ? { receipt: { receiptId: receipt.receiptId, salt: receipt.salt } } : {}),
    };
    const done = await this.settledBefore(input.dealId, 'release', 'refund', price);
    if (done) return { ...released, txHash: done };
    const escrow = await this.fundedEscrow(input.dealId, price);
    // Constructor (if the escrow is new), seller, fee, and the receipt's mint and move: at most 5 calls.
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [
      { to: seller, amount: split.sellerAmount },
      { to: this.deps.operator, amount: split.feeAmount },
    ]);
    if (receipt && buyer) calls.push(...this.receiptCalls(buyer, receipt.receiptId));
    const entry = await this.payOut(input.dealId, 'release', escrow, calls, {
      amount: input.amount,
      ...(receipt ? { receiptId: receipt.receiptId } : {}),
    });
    return { ...released, txHash: entry.txHash };
  }

  async refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded> {
    requireEscrowId(input.dealId);
    const price = parseAmount(input.amount);
    const buyer = await this.registerBuyer(input.buyerId);
    const done = await this.settledBefore(input.dealId, 'refund', 'release', price);
    if (done) return { dealId: input.dealId, amount: input.amount, txHash: done };
    const escrow = await this.fundedEscrow(input.dealId, price);
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [{ to: buyer, amount: price }]);
    const entry = await this.payOut(input.dealId, 'refund', escrow, calls, { amount: input.amount });
    return { dealId: input.dealId, amount: input.amount, txHash: entry.txHash };
  }

  /**
   * A grant's tranche: a withdrawal of part of the escrow to the payee, the fee to the operator, in one
   * transaction. Idempotent per part; refused once the escrow was released, refunded or closed whole.
   */
  async releasePart(input: ReleasePartInput): Promise<PartReleased> {
    requireEscrowId(input.dealId);
    const amount = parseAmount(input.amount);
    const split = feeSplit(amount, input.feeBps);
    const payee = await this.partyAddress(input.payeeId);
    const released = {
      dealId: input.dealId,
      partId: input.partId,
      payeeAmount: split.sellerAmount.toString(),
      feeAmount: split.feeAmount.toString(),
    };
    const action = `part:${encodeURIComponent(input.partId)}` as const;
    const done = await this.deps.transactions.follow(input.dealId, action);
    if (done.kind === 'landed') {
      if (done.entry.amount !== input.amount)
        refuse('EscrowMismatch', `part ${input.partId} of ${input.dealId} was released differently`);
      return released;
    }
    await this.refuseIfClosed(input.dealId);
    const escrow = await this.escrow(input.dealId);
    const held = await this.balanceOf(escrow);
    if (held < amount)
      refuse('EscrowExhausted', `${input.dealId} holds ${held}, part ${input.partId} needs ${amount}`);
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [
      { to: payee, amount: split.sellerAmount },
      { to: this.deps.operator, amount: split.feeAmount },
    ]);
    await this.payOut(input.dealId, action, escrow, calls, { amount: input.amount });
    return released;
  }

  /** Closes an escrow paid out in parts: whatever it still holds goes back to its funder. */
  async refundRemainder(input: RefundRemainderInput): Promise<RemainderRefunded> {
    requireEscrowId(input.dealId);
    const funder = await this.registerBuyer(input.funderId);
    const done = await this.deps.transactions.follow(input.dealId, 'remainder');
    if (done.kind === 'landed') return { dealId: input.dealId, amount: done.entry.amount ?? '0' };
    await this.refuseIfClosed(input.dealId);
    const escrow = await this.escrow(input.dealId);
    const held = await this.balanceOf(escrow);
    if (held === 0n) return { dealId: input.dealId, amount: '0' };
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [{ to: funder, amount: held }]);
    await this.payOut(input.dealId, 'remainder', escrow, calls, { amount: held.toString() });
    return { dealId: input.dealId, amount: held.toString() };
  }

  /** A payer's balance is its private notes: only its own wallet can read them, not the operator's. */
  spendableBalance(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  /** A dispute's split: seller, fee and buyer paid from the frozen escrow in one transaction. */
  async splitEscrow(input: SplitEscrowInput): Promise<EscrowSplit> {
    requireEscrowId(input.dealId);
    requireEscrowId(input.splitId);
    const payouts = splitPayouts(input);
    const seller = await this.partyAddress(input.sellerId);
    const buyer = await this.registerBuyer(input.buyerId);
    const split = {
      dealId: input.dealId,
      sellerAmount: payouts.seller.toString(),
      feeAmount: payouts.fee.toString(),
      buyerAmount: payouts.buyer.toString(),
    };
    const done = await this.deps.transactions.follow(input.dealId, 'split');
    if (done.kind === 'landed') return { ...split, txHash: done.entry.txHash };
    await this.refuseIfClosed(input.dealId);
    const escrow = await this.fundedEscrow(input.dealId, parseAmount(input.amount));
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [
      { to: seller, amount: payouts.seller },
      { to: this.deps.operator, amount: payouts.fee },
      { to: buyer, amount: payouts.buyer },
    ]);
    const entry = await this.payOut(input.dealId, 'split', escrow, calls, { amount: input.amount });
    return { ...split, txHash: entry.txHash };
  }

  /**
   * Watches an escrow whose lock gave up or was refused, until `watchUntil`: whatever the payer sends
   * into it meanwhile goes straight back (each return journaled as `late:<n>`).
   */
  async returnLatePayments(input: ReturnLatePaymentsInput): Promise<LatePaymentsReturned> {
    requireEscrowId(input.dealId);
    const payer = await this.registerBuyer(input.payerId);
    const escrow = await this.escrow(input.dealId);
    let returned = 0n;
    let txHash: string | undefined;
    for (let n = 1; ;) {
      const before = await this.deps.transactions.follow(input.dealId, `late:${n}`);
      if (before.kind === 'landed') {
        returned += BigInt(before.entry.amount ?? '0');
        txHash = before.entry.txHash;
        n += 1;
        continue;
      }
      const held = await this.balanceOf(escrow);
      if (held > 0n) {
        const calls = withdrawals(escrow, this.deps.contracts.token.address, [{ to: payer, amount: held }]);
        const entry = await this.payOut(input.dealId, `late:${n}`, escrow, calls, {
          amount: held.toString(),
          refusal: 'a late payment went back to its payer',
        });
        returned += held;
        txHash = entry.txHash;
        n += 1;
        continue;
      }
      if (input.watchUntil === undefined || Date.now() > input.watchUntil)
        return { dealId: input.dealId, returned: returned.toString(), ...(txHash ? { txHash } : {}) };
      // Stopped (the worker shutting down): the retry resumes the same watch, until the same time.
      await sleep(this.deps.pollMs ?? 1_000, undefined, { signal: input.signal });
    }
  }

  /** A receipt on its own (the release normally issues it in its own transaction). */
  async recordReceipt(input: RecordReceiptInput): Promise<ReceiptRecorded> {
    requireEscrowId(input.dealId);
    const buyer = await this.partyAddress(input.buyerId);
    const recorded = this.receiptOf(input.dealId, input.commitment);
    const before = await this.deps.transactions.follow(input.dealId, 'receipt');
    if (before.kind === 'landed') return { ...recorded, txHash: before.entry.txHash };
    const released = await this.deps.transactions.follow(input.dealId, 'release');
    if (released.kind === 'landed' && released.entry.receiptId === recorded.receiptId)
      return { ...recorded, txHash: released.entry.txHash };
    const { sdk, wallet } = this.deps;
    const issue = new sdk.BatchCall(wallet, this.receiptCalls(buyer, recorded.receiptId));
    const entry = await this.deps.transactions.send(input.dealId, 'receipt', issue, {
      from: this.deps.operator,
    });
    return { ...recorded, txHash: entry.txHash };
  }

  /**
   * Anchors a log head: a public mint of the receipt NFT with id anchorId(size, root), kept public so
   * anyone with the node's URL can see it. Journaled per head, so a retry follows the first mint.
   */
  async anchorTreeHead(input: AnchorTreeHeadInput): Promise<TreeHeadAnchored> {
    let id: string;
    try {
      id = anchorId(input.treeSize, input.rootHash);
    } catch (error) {
      return refuse('InvalidTreeHead', `not a tree head: ${(error as Error).message}`);
    }
    const { sdk, contracts, operator, transactions } = this.deps;
    const key = `log-anchor:${input.treeSize}:${input.rootHash}`;
    const before = await transactions.follow(key, 'anchor');
    const entry =
      before.kind === 'landed'
        ? before.entry
        : await transactions.send(
            key,
            'anchor',
            anchorCall(contracts.receipts, operator, sdk.Fr.fromString(id)),
            {
              from: operator,
            },
          );
    return {
      ...input,
      anchorId: id,
      contract: contracts.receipts.address.toString(),
      txHash: entry.txHash,
      blockNumber: await transactions.blockOf(entry),
    };
  }

  /** The receipt's public id: the commitment blinded by a salt derived for this escrow. */
  private receiptOf(dealId: string, commitment: string): ReceiptRecorded {
    const salt = deriveDealSecret(this.deps.escrowMaster, 'receipt-salt', dealId);
    return { dealId, receiptId: blindedReceiptId(commitment, salt), salt: salt.toString('hex') };
  }

  private receiptCalls(buyer: AztecAddress, receiptId: string) {
    const { sdk, contracts, operator } = this.deps;
    return receiptCallsFor(contracts.receipts, operator, buyer, sdk.Fr.fromString(receiptId));
  }

  /**
   * Sends payouts from an escrow, with its constructor first when it is not on chain yet (the first
   * payout deploys it: no transaction of its own). A second constructor would fail on its nullifier,
   * so two racing first payouts cannot both land.
   */
  private async payOut(
    dealId: string,
    action: SettlementAction,
    escrow: DealEscrow,
    calls: Interaction[],
    facts: Pick<JournalEntry, 'amount' | 'refusal' | 'receiptId'>,
  ) {
    const payload: (Interaction | ExecutionPayload)[] = [...calls];
    if (!(await this.isDeployed(escrow)))
      payload.unshift(
        await escrow.deploy.request(escrow.deploy.convertDeployOptionsToRequestOptions(escrow.deployOptions)),
      );
    const batch = new this.deps.sdk.BatchCall(this.deps.wallet, payload);
    return this.deps.transactions.send(
      dealId,
      action,
      batch,
      { from: this.deps.operator, additionalScopes: [escrow.address] },
      facts,
    );
  }

  /** A whole release, refund or closing already landed: no part may follow. */
  private async refuseIfClosed(dealId: string): Promise<void> {
    for (const action of ['release', 'refund', 'remainder', 'split'] as const) {
      const done = await this.deps.transactions.follow(dealId, action);
      if (done.kind === 'landed') refuse('EscrowAlreadySettled', `${dealId} was closed (${action})`);
    }
  }

  /**
   * The tx hash if `action` already landed for the deal (for the same amount, else a refusal); a
   * refusal if `other` (the opposite payout) did; undefined if neither, so the action may be sent.
   */
  private async settledBefore(
    dealId: string,
    action: 'release' | 'refund',
    other: 'release' | 'refund',
    price: bigint,
  ): Promise<string | undefined> {
    const own: Followed = await this.deps.transactions.follow(dealId, action);
    if (own.kind === 'landed') {
      if (own.entry.amount !== undefined && BigInt(own.entry.amount) !== price)
        refuse('EscrowMismatch', `escrow ${dealId} was settled for ${own.entry.amount}, not ${price}`);
      return own.entry.txHash;
    }
    const opposite = await this.deps.transactions.follow(dealId, other);
    if (opposite.kind === 'landed')
      refuse('EscrowAlreadySettled', `escrow ${dealId} was ${other === 'release' ? 'released' : 'refunded'}`);
    return undefined;
  }

  private async returnPayment(
    dealId: string,
    escrow: DealEscrow,
    buyer: AztecAddress,
    held: bigint,
    why: string,
  ): Promise<never> {
    const refusal = `escrow ${dealId} ${why}; the payment went back to the buyer`;
    const calls = withdrawals(escrow, this.deps.contracts.token.address, [{ to: buyer, amount: held }]);
    await this.payOut(dealId, 'return', escrow, calls, { refusal, amount: held.toString() });
    return refuse('EscrowMismatch', refusal);
  }

  private escrow(dealId: string): Promise<DealEscrow> {
    const { sdk, wallet, operator, escrowMaster } = this.deps;
    return dealEscrow(sdk, wallet, operator, escrowMaster, dealId);
  }

  private async isDeployed(escrow: DealEscrow): Promise<boolean> {
    return (await this.deps.wallet.getContractMetadata(escrow.address)).isContractInitialized;
  }

  private async fundedEscrow(dealId: string, price: bigint): Promise<DealEscrow> {
    const escrow = await this.escrow(dealId);
    const held = await this.balanceOf(escrow);
    if (held === 0n) refuse('EscrowNotLocked', `escrow ${dealId} holds nothing`);
    if (held < price) refuse('EscrowMismatch', `escrow ${dealId} holds ${held}, not ${price}`);
    return escrow;
  }

  private balanceOf(escrow: DealEscrow): Promise<bigint> {
    return privateBalance(this.deps.contracts.token, escrow.address);
  }

  private async partyAddress(partyId: string): Promise<AztecAddress> {
    const party = (await this.deps.parties()).get(partyId);
    if (!party) return refuse('UnknownParty', `no party ${partyId} is registered`);
    if (!party.aztecAddress)
      return refuse('UnknownParty', `party ${partyId} has no Aztec address registered`);
    return this.deps.sdk.AztecAddress.fromString(party.aztecAddress);
  }

  /** The buyer's notes to the escrow are found by their sender: register it before it pays. */
  private async registerBuyer(buyerId: string): Promise<AztecAddress> {
    const buyer = await this.partyAddress(buyerId);
    await this.deps.wallet.registerSender(buyer);
    return buyer;
  }
}
