import { setTimeout as sleep } from 'node:timers/promises';
import { deriveDealSecret } from '../../contracts/deal-secrets';
import { dealEscrow, withdrawals, type DealEscrow } from '../../contracts/escrow';
import { receiptIssue } from '../../contracts/receipts';
import type { AztecAddress, AztecSdk, EmbeddedWallet } from '../../contracts/sdk';
import type { SettlementContracts } from '../../contracts/settlement-contracts';
import { privateBalance } from '../../contracts/token';
import type { PartyRegistry } from '../../lib/parties';
import { SettlementTransactions, type Followed } from './aztec-transactions';
import {
  parseAmount,
  SettlementRefusedError,
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
  requireEscrowId,
} from './port';
import { blindedReceiptId } from './receipt-id';

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

  async openEscrow(input: OpenEscrowInput): Promise<EscrowOpened> {
    requireEscrowId(input.dealId);
    parseAmount(input.amount);
    await this.registerBuyer(input.buyerId);
    const escrow = await this.escrow(input.dealId);
    const opened = await this.deps.transactions.follow(input.dealId, 'open');
    if (opened.kind !== 'landed' && !(await this.isDeployed(escrow))) {
      await this.deps.transactions.send(input.dealId, 'open', escrow.deploy, {
        ...escrow.deployOptions,
        request: escrow.deploy.convertDeployOptionsToRequestOptions(escrow.deployOptions),
      });
    }
    return { dealId: input.dealId, escrowAddress: escrow.address.toString(), amount: input.amount };
  }

  async lockEscrow(input: LockEscrowInput): Promise<EscrowLocked> {
    requireEscrowId(input.dealId);
    const price = parseAmount(input.amount);
    const buyer = await this.registerBuyer(input.buyerId);
    // A wrong payment already went back: the lock stays refused, for the same reason.
    const returned = await this.deps.transactions.follow(input.dealId, 'return');
    if (returned.kind === 'landed') refuse('EscrowMismatch', returned.entry.refusal ?? 'payment returned');
    const escrow = await this.deployedEscrow(input.dealId);
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
      if (late)
        refuse('PaymentNotReceived', `no payment for deal ${input.dealId} reached its escrow in time`);
      await sleep(this.deps.pollMs ?? 1_000);
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
    if (input.buyerId) await this.registerBuyer(input.buyerId);
    const released = {
      dealId: input.dealId,
      sellerAmount: split.sellerAmount.toString(),
      feeAmount: split.feeAmount.toString(),
    };
    const done = await this.settledBefore(input.dealId, 'release', 'refund', price);
    if (done) return { ...released, txHash: done };
    const escrow = await this.fundedEscrow(input.dealId, price);
    const entry = await this.deps.transactions.send(
      input.dealId,
      'release',
      new this.deps.sdk.BatchCall(
        this.deps.wallet,
        withdrawals(escrow, this.deps.contracts.token.address, [
          { to: seller, amount: split.sellerAmount },
          { to: this.deps.operator, amount: split.feeAmount },
        ]),
      ),
      { from: this.deps.operator, additionalScopes: [escrow.address] },
      { amount: input.amount },
    );
    return { ...released, txHash: entry.txHash };
  }

  async refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded> {
    requireEscrowId(input.dealId);
    const price = parseAmount(input.amount);
    const buyer = await this.registerBuyer(input.buyerId);
    const done = await this.settledBefore(input.dealId, 'refund', 'release', price);
    if (done) return { dealId: input.dealId, amount: input.amount, txHash: done };
    const escrow = await this.fundedEscrow(input.dealId, price);
    const [withdrawal] = withdrawals(escrow, this.deps.contracts.token.address, [
      { to: buyer, amount: price },
    ]);
    const entry = await this.deps.transactions.send(
      input.dealId,
      'refund',
      withdrawal!,
      { from: this.deps.operator, additionalScopes: [escrow.address] },
      { amount: input.amount },
    );
    return { dealId: input.dealId, amount: input.amount, txHash: entry.txHash };
  }

  /**
   * Partial payouts (grant tranches, dispute splits) are not on Aztec yet: the escrow contract can
   * withdraw any amount, but sponsors paying from their own wallets is not wired. Refused, clearly,
   * rather than half-done; grants and disputes settle on the local ledger.
   */
  releasePart(input: ReleasePartInput): Promise<PartReleased> {
    return refuse(
      'UnsupportedAction',
      `partial payouts are not offered on Aztec yet (deal ${input.dealId}, part ${input.partId})`,
    );
  }

  refundRemainder(input: RefundRemainderInput): Promise<RemainderRefunded> {
    return refuse('UnsupportedAction', `partial payouts are not offered on Aztec yet (deal ${input.dealId})`);
  }

  async recordReceipt(input: RecordReceiptInput): Promise<ReceiptRecorded> {
    requireEscrowId(input.dealId);
    const buyer = await this.partyAddress(input.buyerId);
    const salt = deriveDealSecret(this.deps.escrowMaster, 'receipt-salt', input.dealId);
    const receiptId = blindedReceiptId(input.commitment, salt);
    const recorded = { dealId: input.dealId, receiptId, salt: salt.toString('hex') };
    const before = await this.deps.transactions.follow(input.dealId, 'receipt');
    if (before.kind === 'landed') return { ...recorded, txHash: before.entry.txHash };
    const { sdk, wallet, operator, contracts } = this.deps;
    const issue = receiptIssue(
      sdk,
      wallet,
      contracts.receipts,
      operator,
      buyer,
      sdk.Fr.fromString(receiptId),
    );
    const entry = await this.deps.transactions.send(input.dealId, 'receipt', issue, { from: operator });
    return { ...recorded, txHash: entry.txHash };
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
        refuse('EscrowMismatch', `deal ${dealId} was settled for ${own.entry.amount}, not ${price}`);
      return own.entry.txHash;
    }
    const opposite = await this.deps.transactions.follow(dealId, other);
    if (opposite.kind === 'landed')
      refuse('EscrowAlreadySettled', `deal ${dealId} was ${other === 'release' ? 'released' : 'refunded'}`);
    return undefined;
  }

  private async returnPayment(
    dealId: string,
    escrow: DealEscrow,
    buyer: AztecAddress,
    held: bigint,
    why: string,
  ): Promise<never> {
    const refusal = `the escrow of deal ${dealId} ${why}; the payment went back to the buyer`;
    const [withdrawal] = withdrawals(escrow, this.deps.contracts.token.address, [
      { to: buyer, amount: held },
    ]);
    await this.deps.transactions.send(
      dealId,
      'return',
      withdrawal!,
      { from: this.deps.operator, additionalScopes: [escrow.address] },
      { refusal, amount: held.toString() },
    );
    return refuse('EscrowMismatch', refusal);
  }

  private escrow(dealId: string): Promise<DealEscrow> {
    const { sdk, wallet, operator, escrowMaster } = this.deps;
    return dealEscrow(sdk, wallet, operator, escrowMaster, dealId);
  }

  private async isDeployed(escrow: DealEscrow): Promise<boolean> {
    return (await this.deps.wallet.getContractMetadata(escrow.address)).isContractInitialized;
  }

  private async deployedEscrow(dealId: string): Promise<DealEscrow> {
    const escrow = await this.escrow(dealId);
    if (!(await this.isDeployed(escrow))) refuse('EscrowNotLocked', `deal ${dealId} has no escrow`);
    return escrow;
  }

  private async fundedEscrow(dealId: string, price: bigint): Promise<DealEscrow> {
    const escrow = await this.deployedEscrow(dealId);
    const held = await this.balanceOf(escrow);
    if (held === 0n) refuse('EscrowNotLocked', `the escrow of deal ${dealId} holds nothing`);
    if (held < price) refuse('EscrowMismatch', `the escrow of deal ${dealId} holds ${held}, not ${price}`);
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
