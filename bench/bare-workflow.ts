import { proxyActivities } from '@temporalio/workflow';

/** The activities of the bare baseline: they do nothing. */
export interface BareActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });

/** A workflow that runs `count` activities one after another and nothing else: Temporal's own cost. */
export async function bareChain(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await noop();
}
