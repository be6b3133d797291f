import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { SettlementActivities } from '../../activities/settlement/activities';
import { dealEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { aztecPaths, TEST_ACCOUNT } from '../../contracts/deployment';
import { decodedHistoryJson, readHistory } from '../../audit/history-json';
import { historyDataConverter } from '../../lib/codec/history-codec';
import type { SignedTerms } from '../../lib/signed-terms';
import { waitForStage } from '../../cli/buyer/commands';
import { AztecCli, type Balances } from '../../scripts/lib/aztec-cli';
import type { AztecSettlementSetup, LocalDeployment } from '../../scripts/lib/local-deployment';
import type { DealStatus } from '../../workflows/deal/state';
import { startTestDeployment, type TestDeployment } from '../integration/harness';
import { settlementCall, type SettlementCall } from './fixtures/settlement-call';

export { TEST_ACCOUNT };

/** The parties' wallets and the operator's tools on the suite's network. */
export const chain = () => new AztecCli(inject('aztecOperatorHome'), inject('aztecNodeUrl'));

/** A whole local deployment, settling on the suite's Aztec network. */
export function startAztecTestDeployment(name: string, paymentWindowMs?: number): Promise<TestDeployment> {
  return startTestDeployment(name, (seller) => seller.publishDemoTemplate().then(() => undefined), {
    acceptanceTimeoutMs: 600_000,
    aztec: aztecSetup(paymentWindowMs),
  });
}

/** The deployment's settlement on the suite's network, with the operator's contracts and secret. */
export function aztecSetup(paymentWindowMs?: number): AztecSettlementSetup {
  const paths = aztecPaths(inject('aztecOperatorHome'));
  return {
    nodeUrl: inject('aztecNodeUrl'),
    deploymentFile: paths.deployment,
    escrowSecretFile: paths.escrowSecret,
    ...(paymentWindowMs ? { paymentWindowMs } : {}),
  };
}

/**
 * Escrows seen by this test file: wallets find notes by sender, so each balance read registers them
 * all, before and after alike, and a difference of two reads is what happened in between.
 */
const escrowsSeen = new Set<string>();

export const ACCOUNTS = [TEST_ACCOUNT.buyer, TEST_ACCOUNT.seller, TEST_ACCOUNT.operator];

/** Notes an escrow's address, so later balance reads find what it paid out. */
export function seeEscrow(address: string): void {
  escrowsSeen.add(address);
}

export function balances(escrowDeals: string[] = []): Promise<Balances> {
  return chain().balances({ accounts: ACCOUNTS, escrows: escrowDeals, senders: [...escrowsSeen] });
}

/** Per account, after minus before. */
export function moved(before: Balances, after: Balances): Record<number, bigint> {
  return Object.fromEntries(ACCOUNTS.map((a) => [a, after.accounts[a]! - before.accounts[a]!]));
}

/** As the buyer: waits for the deal's escrow to open, then pays `amount` into it from its own wallet. */
export async function payWhenAsked(
  status: () => Promise<DealStatus>,
  amount: string,
): Promise<{ escrow: string; txHash: string }> {
  for (let waited = 0; waited < 180_000; waited += 500) {
    const current = await status();
    if (current.escrow) {
      escrowsSeen.add(current.escrow.address);
      const payment = await chain().pay(TEST_ACCOUNT.buyer, current.escrow.address, amount);
      return { escrow: current.escrow.address, txHash: payment.txHash };
    }
    if (current.problem) throw new Error(`deal ${current.dealId} failed: ${current.problem.code}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('the escrow did not open within 180 s');
}

export const statusViaApi = (deployment: LocalDeployment, dealId: string) => () =>
  deployment.buyer.client.get<DealStatus>(`/deals/${encodeURIComponent(dealId)}`);

export const untilSettledWithReceipt = (deployment: LocalDeployment, dealId: string) =>
  waitForStage(
    deployment.buyer.client,
    dealId,
    (s) =>
      (s.stage === 'settled' && s.receipt !== undefined) ||
      (s.problem !== undefined && s.stage !== 'delivered'),
    240_000,
  );

/**
 * The payer's signed terms a workflow was started with, read from its (decoded) history as the operator
 * could: every escrow of the workflow is named under their nonce.
 */
export async function termsOfWorkflow(test: TestDeployment, workflowId: string): Promise<SignedTerms> {
  const history = await test.temporal.workflow.getHandle(workflowId).fetchHistory();
  const [input] = readHistory(await decodedHistoryJson(history, test.codec)).input as {
    terms?: SignedTerms;
  }[];
  if (!input?.terms || !termsNonceOf(input.terms))
    throw new Error(`workflow ${workflowId} was started without signed terms naming a nonce`);
  return input.terms;
}

/** The nonce of the payer's signed terms a workflow was started with. */
export const termsNonceOfWorkflow = async (test: TestDeployment, workflowId: string) =>
  termsNonceOf(await termsOfWorkflow(test, workflowId))!;

/** The escrow id of a one-time deal: the deal id under its buyer's signed terms' nonce. */
export const escrowOfDeal = async (test: TestDeployment, dealId: string) =>
  dealEscrowId(dealId, await termsNonceOfWorkflow(test, dealId));

/** A settlement call refused or failed: the activity's failure type (the refusal code) and message. */
export class SettlementCallFailed extends Error {
  constructor(
    readonly type: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Calls one settlement activity on the real settlement worker through a one-call workflow, as the deal
 * workflow would. Resolves with the result, or rejects with the activity's ApplicationFailure.
 */
let quietRuntime = false;

export async function callSettlement<A extends keyof SettlementActivities>(
  test: TestDeployment,
  activity: A,
  // Calls without the payer's terms are what an operator could send: settlement refuses them.
  input: Omit<SettlementCall<A>['input'], 'terms'> & { terms?: unknown },
): Promise<Awaited<ReturnType<SettlementActivities[A]>>> {
  if (!quietRuntime) {
    // The refusals these calls exist to provoke would each print a "Workflow failed" warning.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    quietRuntime = true;
  }
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const taskQueue = `settlement-call-${crypto.randomUUID()}`;
  try {
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: join(__dirname, 'fixtures/settlement-call.ts'),
      dataConverter: historyDataConverter(test.codec),
    });
    const run = test.temporal.workflow.execute(settlementCall, {
      taskQueue,
      workflowId: taskQueue,
      args: [{ activity, input } as SettlementCall],
    });
    return (await worker.runUntil(run)) as Awaited<ReturnType<SettlementActivities[A]>>;
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    const failure = cause instanceof ActivityFailure ? cause.cause : cause;
    if (failure instanceof ApplicationFailure)
      throw new SettlementCallFailed(failure.type ?? undefined, failure.message);
    throw error;
  } finally {
    await connection.close();
  }
}

/** A transaction's status as the node reports it, asked as any outsider would (plain JSON-RPC, no SDK): `dropped` when unknown. */
export async function txStatus(txHash: string): Promise<string> {
  const response = await fetch(inject('aztecNodeUrl'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_getTxReceipt', params: [txHash] }),
  });
  return ((await response.json()) as { result: { status: string } }).result.status;
}

/** Asks `probe` every 50 ms until it answers something. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 240_000,
): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
