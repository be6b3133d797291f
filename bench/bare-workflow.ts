import { proxyActivities } from '@temporalio/workflow';

/** The activities of the bare baseline: one runs the deal's DuckDB query, the others do nothing. */
export interface BareActivities {
  noop(): Promise<void>;
  rawQuery(index: number): Promise<void>;
}

const { noop, rawQuery } = proxyActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });

/**
 * A workflow that runs `count` activities one after another, one of them the same aggregate the deal
 * runs (the `index`-th parameters), and nothing else: Temporal's own cost plus the query itself.
 */
export async function bareChain(count: number, index: number): Promise<void> {
  for (let i = 0; i < count - 1; i++) await noop();
  await rawQuery(index);
}
