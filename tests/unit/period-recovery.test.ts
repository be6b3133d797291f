import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { RefusalStatement } from '../../lib/refusal-statement';
import type { DeliveredQuery } from '../../workflows/subscription/shapes';
import { recoverPeriodRuns, type PerimeterAgain } from '../../workflows/subscription/period-recovery';

const refusalOf = (runId: string, code = 'Withdrawn') =>
  ({
    body: { type: 'tusk.refusal/v1', dealId: runId, code },
    signature: 'sig',
  }) as unknown as RefusalStatement;
const lost = (queryIndex: number): DeliveredQuery => ({
  queryIndex,
  runId: `run-${queryIndex}`,
  problem: { code: 'ActivityFailed', reason: 'lost' },
});
const answer = (queryIndex: number): DeliveredQuery => ({
  queryIndex,
  runId: `run-${queryIndex}`,
  resultRef: `sha256:${String(queryIndex).repeat(64)}`,
  commitment: 'c',
});

/** A perimeter that released the runs in `released` and nothing else; counts what it was asked. */
function perimeterWith(released: Set<string>, askFails?: Error): PerimeterAgain & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    withdraw: async (runId) => (released.has(runId) ? undefined : refusalOf(runId)),
    ask: async (queryIndex, runId) => {
      asked.push(runId);
      if (askFails) throw askFails;
      return answer(queryIndex);
    },
  };
}

describe('settling a period on what the perimeter recorded', () => {
  it('recovers a released run that never came back, and asks nothing of an answered or refused one', async () => {
    const refusals = new Map([['run-2', refusalOf('run-2', 'TermsMismatch')]]);
    const perimeter = perimeterWith(new Set(['run-0']));
    const results = await recoverPeriodRuns([lost(0), answer(1), lost(2)], refusals, perimeter);
    expect(results.map((r) => ('resultRef' in r ? 'answered' : r.problem.code))).toEqual([
      'answered',
      'answered',
      'ActivityFailed',
    ]);
    expect(perimeter.asked).toEqual(['run-0']);
  });

  it('withdraws a run the perimeter never released: its signed refusal is kept for the refund', async () => {
    const refusals = new Map<string, RefusalStatement>();
    const perimeter = perimeterWith(new Set());
    const results = await recoverPeriodRuns([lost(0), lost(1)], refusals, perimeter);
    expect(results.every((r) => 'problem' in r)).toBe(true);
    expect([...refusals.keys()]).toEqual(['run-0', 'run-1']);
    expect(perimeter.asked).toEqual([]);
  });

  it("keeps a refusal the perimeter signs when asked again, and throws (for the operator's retry) on anything else", async () => {
    const signed = refusalOf('run-0', 'DealRefused');
    const refused = ApplicationFailure.create({ type: 'DealRefused', nonRetryable: true, details: [signed] });
    const refusals = new Map<string, RefusalStatement>();
    await recoverPeriodRuns([lost(0)], refusals, perimeterWith(new Set(['run-0']), refused));
    expect(refusals.get('run-0')).toBe(signed);

    const down = new Error('perimeter unreachable');
    await expect(
      recoverPeriodRuns([lost(0)], new Map(), perimeterWith(new Set(['run-0']), down)),
    ).rejects.toThrow('perimeter unreachable');
  });
});
