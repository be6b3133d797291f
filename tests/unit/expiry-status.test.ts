import { describe, expect, it } from 'vitest';
import { DealState } from '../../workflows/deal/state';
import { EXPIRY_WAIT_NOTE } from '../../workflows/deal/shapes';
import { expiryAskBackoffMs } from '../../workflows/expiry-status';
import type { CohortQueryDealInput } from '../../workflows/deal/state';

const input = {
  dealId: 'd1',
  buyerId: 'buyer',
  sellerId: 'seller',
  templateId: 't',
  templateHash: 'h',
  price: '1000',
} as CohortQueryDealInput;

describe("a deal waiting for its perimeter to confirm the buyer's terms expired", () => {
  it('shows the stage and the note, not a problem, and counts the asks that went unanswered', () => {
    const deal = new DealState(input, 0);
    deal.advance('query_running', 1);
    deal.awaitExpiry(100, 1, 110);
    deal.expiry.missed('ScheduleToCloseTimeout', 60_115);
    const waiting = deal.snapshot();
    expect(waiting.stage).toBe('awaiting_expiry');
    expect(waiting.problem).toBeUndefined();
    expect(waiting.expiry).toEqual({
      note: EXPIRY_WAIT_NOTE,
      notAfter: 100,
      since: 110,
      missedAsks: 1,
      lastCode: 'ScheduleToCloseTimeout',
      nextAskAt: 60_115,
      pending: 1,
    });
    deal.expiry.answered();
    expect(deal.snapshot().expiry).toMatchObject({ missedAsks: 1, pending: 0 });
    expect(deal.snapshot().expiry?.nextAskAt).toBeUndefined();
  });

  it('asks an unreachable perimeter again after a doubling wait, never more than half an hour apart', () => {
    const waits = [1, 2, 3, 4, 10, 100].map(expiryAskBackoffMs);
    expect(waits.slice(0, 4)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(waits[4]).toBe(30 * 60_000);
    expect(waits[5]).toBe(30 * 60_000);
  });
});
