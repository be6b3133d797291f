import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalLedger, OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { splitFee } from '../../activities/settlement/port';
import { blindedReceiptId } from '../../lib/ids/receipt-id';

describe('local development ledger', () => {
  let ledger: LocalLedger;
  beforeEach(async () => {
    ledger = new LocalLedger(join(await mkdtemp(join(tmpdir(), 'tusk-ledger-')), 'ledger.jsonl'));
    await ledger.mint('buyer', 5000n);
  });

  it('locks, then releases price minus fee to the seller and the fee to the operator, once', async () => {
    await ledger.lockEscrow({ dealId: 'deal:d1', buyerId: 'buyer', amount: '1000' });
    const release = { dealId: 'deal:d1', sellerId: 'seller', amount: '1000', feeBps: 250 };
    expect(await ledger.releaseEscrow(release)).toEqual({
      dealId: 'deal:d1',
      sellerAmount: '975',
      feeAmount: '25',
    });
    expect(await ledger.releaseEscrow(release)).toEqual({
      dealId: 'deal:d1',
      sellerAmount: '975',
      feeAmount: '25',
    });
    expect(await ledger.balanceOf('buyer')).toBe(4000n);
    expect(await ledger.balanceOf('seller')).toBe(975n);
    expect(await ledger.balanceOf(OPERATOR_ACCOUNT)).toBe(25n);
  });

  it('a retried lock or refund moves money once; a refunded escrow cannot be released', async () => {
    await ledger.lockEscrow({ dealId: 'deal:d2', buyerId: 'buyer', amount: '1000' });
    await ledger.lockEscrow({ dealId: 'deal:d2', buyerId: 'buyer', amount: '1000' });
    expect(await ledger.balanceOf('buyer')).toBe(4000n);
    await ledger.refundEscrow({ dealId: 'deal:d2', buyerId: 'buyer', amount: '1000' });
    await ledger.refundEscrow({ dealId: 'deal:d2', buyerId: 'buyer', amount: '1000' });
    expect(await ledger.balanceOf('buyer')).toBe(5000n);
    await expect(
      ledger.releaseEscrow({ dealId: 'deal:d2', sellerId: 's', amount: '1000', feeBps: 0 }),
    ).rejects.toMatchObject({
      refusal: 'EscrowAlreadySettled',
    });
  });

  it('refuses to overdraw, to change a locked amount, or to pay out an unknown escrow', async () => {
    await expect(
      ledger.lockEscrow({ dealId: 'deal:d3', buyerId: 'buyer', amount: '5001' }),
    ).rejects.toMatchObject({
      refusal: 'InsufficientFunds',
    });
    expect(await ledger.balanceOf('buyer')).toBe(5000n);
    await ledger.lockEscrow({ dealId: 'deal:d4', buyerId: 'buyer', amount: '10' });
    await expect(
      ledger.lockEscrow({ dealId: 'deal:d4', buyerId: 'buyer', amount: '11' }),
    ).rejects.toMatchObject({
      refusal: 'EscrowMismatch',
    });
    await expect(
      ledger.refundEscrow({ dealId: 'deal:nope', buyerId: 'buyer', amount: '1' }),
    ).rejects.toMatchObject({
      refusal: 'EscrowNotLocked',
    });
  });

  it('refuses an escrow id that does not name its kind, before anything is written', async () => {
    for (const dealId of ['m1.seller-a', 'd1', 'deal:'])
      await expect(ledger.lockEscrow({ dealId, buyerId: 'buyer', amount: '10' })).rejects.toMatchObject({
        refusal: 'InvalidEscrowId',
      });
    expect(await ledger.balanceOf('buyer')).toBe(5000n);
  });

  it('concurrent locks never overspend', async () => {
    const attempts = Array.from({ length: 8 }, (_, i) =>
      ledger.lockEscrow({ dealId: `deal:c${i}`, buyerId: 'buyer', amount: '1000' }).then(
        () => 'locked',
        () => 'refused',
      ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((o) => o === 'locked')).toHaveLength(5);
    expect(await ledger.balanceOf('buyer')).toBe(0n);
  });

  it('splits fees in whole units, rounding the fee down', () => {
    expect(splitFee(999n, 250)).toEqual({ sellerAmount: 975n, feeAmount: 24n });
    expect(() => splitFee(1n, 10_001)).toThrow(RangeError);
  });
});

describe('local development ledger: escrows settled in parts', () => {
  let ledger: LocalLedger;
  beforeEach(async () => {
    ledger = new LocalLedger(join(await mkdtemp(join(tmpdir(), 'tusk-ledger-')), 'ledger.jsonl'));
    await ledger.mint('sponsor', 10_000n);
    await ledger.lockEscrow({ dealId: 'grant:g1', buyerId: 'sponsor', amount: '3000' });
  });

  it('releases tranches once each, then returns the rest to the funder', async () => {
    const tranche = { dealId: 'grant:g1', partId: 'm1', payeeId: 'lab', amount: '1000', feeBps: 250 };
    const released = { dealId: 'grant:g1', partId: 'm1', payeeAmount: '975', feeAmount: '25' };
    expect(await ledger.releasePart(tranche)).toEqual(released);
    expect(await ledger.releasePart(tranche)).toEqual(released);
    expect(await ledger.refundRemainder({ dealId: 'grant:g1', funderId: 'sponsor' })).toEqual({
      dealId: 'grant:g1',
      amount: '2000',
    });
    expect(await ledger.refundRemainder({ dealId: 'grant:g1', funderId: 'sponsor' })).toEqual({
      dealId: 'grant:g1',
      amount: '2000',
    });
    expect(await ledger.balanceOf('sponsor')).toBe(9000n);
    expect(await ledger.balanceOf('lab')).toBe(975n);
    expect(await ledger.balanceOf(OPERATOR_ACCOUNT)).toBe(25n);
  });

  it('refuses parts beyond the escrow, a part changed on retry, and payouts after closing', async () => {
    await ledger.releasePart({ dealId: 'grant:g1', partId: 'm1', payeeId: 'lab', amount: '2000', feeBps: 0 });
    await expect(
      ledger.releasePart({ dealId: 'grant:g1', partId: 'm2', payeeId: 'lab', amount: '1001', feeBps: 0 }),
    ).rejects.toMatchObject({ refusal: 'EscrowExhausted' });
    await expect(
      ledger.releasePart({ dealId: 'grant:g1', partId: 'm1', payeeId: 'lab', amount: '1999', feeBps: 0 }),
    ).rejects.toMatchObject({ refusal: 'EscrowMismatch' });
    await expect(
      ledger.releaseEscrow({ dealId: 'grant:g1', sellerId: 'lab', amount: '3000', feeBps: 0 }),
    ).rejects.toMatchObject({ refusal: 'EscrowAlreadySettled' });
    await expect(ledger.refundRemainder({ dealId: 'grant:g1', funderId: 'lab' })).rejects.toMatchObject({
      refusal: 'EscrowMismatch',
    });
    await ledger.refundRemainder({ dealId: 'grant:g1', funderId: 'sponsor' });
    await expect(
      ledger.releasePart({ dealId: 'grant:g1', partId: 'm3', payeeId: 'lab', amount: '1', feeBps: 0 }),
    ).rejects.toMatchObject({ refusal: 'EscrowAlreadySettled' });
    expect(await ledger.balanceOf('sponsor')).toBe(8000n);
  });

  it('a whole release and a part do not mix', async () => {
    await ledger.releaseEscrow({ dealId: 'grant:g1', sellerId: 'lab', amount: '3000', feeBps: 0 });
    await expect(
      ledger.releasePart({ dealId: 'grant:g1', partId: 'm1', payeeId: 'lab', amount: '1', feeBps: 0 }),
    ).rejects.toMatchObject({ refusal: 'EscrowAlreadySettled' });
    await expect(ledger.refundRemainder({ dealId: 'grant:g1', funderId: 'sponsor' })).rejects.toMatchObject({
      refusal: 'EscrowAlreadySettled',
    });
  });
});

describe('local development ledger: escrow address and receipts', () => {
  it('names the escrow, refuses a bad amount, and records one receipt per deal', async () => {
    const ledger = new LocalLedger(join(await mkdtemp(join(tmpdir(), 'tusk-ledger-')), 'ledger.jsonl'));
    expect(await ledger.openEscrow({ dealId: 'deal:d9', buyerId: 'buyer', amount: '1000' })).toEqual({
      dealId: 'deal:d9',
      escrowAddress: 'ledger:deal:d9',
      amount: '1000',
    });
    await expect(
      ledger.openEscrow({ dealId: 'deal:d9', buyerId: 'buyer', amount: '1e3' }),
    ).rejects.toMatchObject({
      refusal: 'InvalidAmount',
    });
    const input = { dealId: 'deal:d9', buyerId: 'buyer', commitment: `sha256:${'ab'.repeat(32)}` };
    const first = await ledger.recordReceipt(input);
    expect(first.receiptId).toBe(blindedReceiptId(input.commitment, Buffer.from(first.salt, 'hex')));
    expect(await ledger.recordReceipt(input)).toEqual(first);
  });
});
