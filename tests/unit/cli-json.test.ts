import { describe, expect, it } from 'vitest';
import { jsonText } from '../../cli/common';

describe("the CLI's JSON output", () => {
  it('shows times as ISO 8601, in every time field at any depth', () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0);
    const shown = JSON.parse(
      jsonText({
        timeline: [{ stage: 'quoted', at }],
        reviewer: { accessUntil: at + 1000 },
        milestones: [{ deadline: at }],
        openedAt: at,
      }),
    ) as Record<string, unknown>;
    expect(shown).toEqual({
      timeline: [{ stage: 'quoted', at: '2026-12-07T12:00:00.000Z' }],
      reviewer: { accessUntil: '2026-12-07T12:00:01.000Z' },
      milestones: [{ deadline: '2026-12-07T12:00:00.000Z' }],
      openedAt: '2026-12-07T12:00:00.000Z',
    });
  });

  it('leaves durations, counts and other numbers alone, and writes big integers as decimals', () => {
    const shown = JSON.parse(
      jsonText({ acceptanceTimeoutMs: 86_400_000, periodAt: 0, price: 2n ** 70n, amount: 1_700_000_000_000 }),
    ) as Record<string, unknown>;
    expect(shown).toEqual({
      acceptanceTimeoutMs: 86_400_000,
      periodAt: 0,
      price: '1180591620717411303424',
      amount: 1_700_000_000_000,
    });
  });
});
