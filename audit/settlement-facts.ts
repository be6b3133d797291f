import type { ActivityCall } from './history-json';

/** One movement of money a deal's histories record, in smallest units. */
export interface MoneyFacts {
  deposits: { from: string; amount: string }[];
  payouts: { to: string; amount: string; part?: string }[];
  fees: { amount: string; feeBps: number; of: string }[];
  refunds: { to: string; amount: string }[];
  /** Settlement actions that landed, with their transaction where the adapter names one. */
  transactions: { action: string; txHash?: string }[];
  /** The on-chain receipt: its blinded id and salt. */
  chainReceipt?: { id: string; salt: string; txHash?: string };
}

type Fields = Record<string, unknown>;
const str = (value: unknown) =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';

/** What the settlement activities of a deal did, read from their inputs and results in its histories. */
export function moneyFactsOf(calls: ActivityCall[]): MoneyFacts {
  const facts: MoneyFacts = { deposits: [], payouts: [], fees: [], refunds: [], transactions: [] };
  for (const call of calls) {
    if (!call.completed) continue;
    const input = (call.input[0] ?? {}) as Fields;
    const result = (call.result ?? {}) as Fields;
    const tx = typeof result.txHash === 'string' ? { txHash: result.txHash } : {};
    switch (call.activityType) {
      case 'lockEscrow':
        facts.deposits.push({ from: str(input.buyerId), amount: str(input.amount) });
        break;
      case 'releaseEscrow':
        facts.payouts.push({ to: str(input.sellerId), amount: str(result.sellerAmount) });
        facts.fees.push({
          amount: str(result.feeAmount),
          feeBps: Number(input.feeBps),
          of: str(input.amount),
        });
        // On Aztec the release mints the receipt in its own transaction (ReleaseEscrowInput.receiptFor).
        if (result.receipt && typeof result.receipt === 'object') {
          const issued = result.receipt as Fields;
          facts.chainReceipt = { id: str(issued.receiptId), salt: str(issued.salt), ...tx };
        }
        break;
      case 'refundEscrow':
        facts.refunds.push({ to: str(input.buyerId), amount: str(result.amount) });
        break;
      case 'releasePart':
        facts.payouts.push({
          to: str(input.payeeId),
          amount: str(result.payeeAmount),
          part: str(input.partId),
        });
        facts.fees.push({
          amount: str(result.feeAmount),
          feeBps: Number(input.feeBps),
          of: str(input.amount),
        });
        break;
      case 'splitEscrow':
        // A dispute's split: the seller's gross share pays the fee, the rest goes back to the buyer.
        if (str(result.sellerAmount) !== '0' || str(result.feeAmount) !== '0') {
          facts.payouts.push({
            to: str(input.sellerId),
            amount: str(result.sellerAmount),
            part: str(input.splitId),
          });
          facts.fees.push({
            amount: str(result.feeAmount),
            feeBps: Number(input.feeBps),
            of: str(input.sellerAmount),
          });
        }
        if (str(result.buyerAmount) !== '0')
          facts.refunds.push({ to: str(input.buyerId), amount: str(result.buyerAmount) });
        break;
      case 'refundRemainder':
        if (str(result.amount) !== '0')
          facts.refunds.push({ to: str(input.funderId), amount: str(result.amount) });
        break;
      case 'recordReceipt':
        facts.chainReceipt = { id: str(result.receiptId), salt: str(result.salt), ...tx };
        break;
      default:
        continue;
    }
    facts.transactions.push({ action: call.activityType, ...tx });
  }
  return facts;
}

const sum = (amounts: { amount: string }[]) => amounts.reduce((total, a) => total + BigInt(a.amount), 0n);

/** payouts + fees + refunds = deposits, and each fee is the agreed share of what it was taken from. */
export function conservationProblems(facts: MoneyFacts): string[] {
  const problems: string[] = [];
  const inflow = sum(facts.deposits);
  const outflow = sum(facts.payouts) + sum(facts.fees) + sum(facts.refunds);
  if (inflow !== outflow)
    problems.push(
      `money is not conserved: deposits ${inflow} ≠ payouts ${sum(facts.payouts)} + fees ${sum(facts.fees)} + refunds ${sum(facts.refunds)} = ${outflow}`,
    );
  for (const fee of facts.fees) {
    const agreed = (BigInt(fee.of) * BigInt(fee.feeBps)) / 10_000n;
    if (BigInt(fee.amount) !== agreed)
      problems.push(
        `a fee of ${fee.amount} was taken from ${fee.of}; ${fee.feeBps} bps agreed make ${agreed}`,
      );
  }
  return problems;
}
