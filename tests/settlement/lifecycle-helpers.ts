import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TxJournal, type JournalEntry, type SettlementAction } from '../../activities/settlement/tx-journal';
import type { ExtraParty, LocalDeploymentOptions } from '../../scripts/lib/local-deployment';
import { startTestDeployment, type TestDeployment, type TestSeller } from '../integration/harness';
import { LIFECYCLE_PARTIES } from '../integration/lifecycle-harness';
import { aztecSetup, chain, poll, seeEscrow, TEST_ACCOUNT, txStatus } from './harness';

export { txStatus };

export { party, waitFor } from '../integration/lifecycle-harness';

/**
 * The lifecycle parties, with wallets. The Aztec 4.1.2 local network funds exactly three test accounts
 * (0 operator, 1 demo buyer, 2 demo seller), and a new account would need its own fee-paying deployment,
 * so the sponsor pays from the buyer's wallet and the grantee (lab) is paid into the seller's: one
 * account, two party ids. Balances are then checked per account, the parties' movements summed.
 */
export const AZTEC_LIFECYCLE_PARTIES: ExtraParty[] = [
  ...LIFECYCLE_PARTIES.map((p) =>
    p.id === 'sponsor'
      ? { ...p, aztecAccount: TEST_ACCOUNT.buyer }
      : p.id === 'lab'
        ? { ...p, aztecAccount: TEST_ACCOUNT.seller }
        : p,
  ),
  { id: 'ops', role: 'operator' },
];

/** A lifecycle deployment (lifecycle parties, the demo template) settling on the suite's network. */
export function startAztecLifecycleDeployment(
  name: string,
  options: Partial<LocalDeploymentOptions> | ((seller: TestSeller) => Partial<LocalDeploymentOptions>) = {},
  prepare: (seller: TestSeller) => Promise<void> = (seller) =>
    seller.publishDemoTemplate().then(() => undefined),
): Promise<TestDeployment> {
  return startTestDeployment(name, prepare, (seller) => ({
    parties: AZTEC_LIFECYCLE_PARTIES,
    acceptanceTimeoutMs: 600_000,
    ...(typeof options === 'function' ? options(seller) : options),
    aztec: aztecSetup(),
  }));
}

/** As the payer: pays `amount` into an escrow from its own wallet (one transaction). */
export async function payInto(account: number, address: string, amount: string): Promise<string> {
  seeEscrow(address);
  return (await chain().pay(account, address, amount)).txHash;
}

/** The transactions the settlement worker logged for one escrow, by action, in order. */
export async function sentFor(test: TestDeployment, escrowId: string): Promise<string[]> {
  const log = await readFile(test.deployment.services.get('settlement worker')!.logFile, 'utf8');
  return landedTransactions(log)
    .filter((line) => line.dealId === escrowId)
    .map((line) => line.action);
}

/** The settlement worker's JSON lines for its landed transactions, in order. */
export function landedTransactions(log: string): { action: string; dealId: string; tx: string }[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; action: string; dealId: string; tx: string })
    .filter((line) => line.msg === 'settlement transaction landed');
}

export const journalOf = (test: TestDeployment) => new TxJournal(join(test.home, 'settlement-journal'));

export const LANDED = ['checkpointed', 'proven', 'finalized'];

/**
 * Kills the settlement worker while `action` on `escrowId` is in flight: journaled (it is journaled just
 * before it is broadcast) and known to the node as pending, so nothing is recorded in Temporal yet.
 * Returns the journaled transaction and its status at the kill.
 */
export async function killWhileInFlight(
  test: TestDeployment,
  escrowId: string,
  action: SettlementAction,
): Promise<{ sent: JournalEntry; statusAtKill: string }> {
  const journal = journalOf(test);
  const sent = await poll(`the journaled ${action} of ${escrowId}`, () => journal.get(escrowId, action));
  const statusAtKill = await poll(`the ${action} in the node`, async () => {
    const status = await txStatus(sent.txHash);
    return status === 'dropped' ? undefined : status;
  });
  await test.deployment.services.get('settlement worker')!.kill();
  return { sent, statusAtKill };
}

/** How many times an activity was scheduled in a workflow's (current run's) history. */
export async function scheduledCount(test: TestDeployment, workflowId: string, activity: string) {
  const events = (await test.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).length;
}
