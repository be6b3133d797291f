import { sha256Ref } from './canonical-json';
import { parseEscrowId } from './ids/escrow-ids';
import type { DecisionScope } from './signed-decision';
import { TuskApiError, type TuskClient } from './tusk-client';

/**
 * The decisions a party signs, each sent with its signature over the workflow run, subject and
 * content it decides (lib/signed-decision.ts). Shared by the CLI and SDK users: the run id and the
 * subject come from the resource's status, and the subject is checked against the id asked for.
 */
const enc = encodeURIComponent;
const grantPath = (grantId: string) => `/grants/${enc(grantId)}`;
const milestonePath = (grantId: string, milestoneId: string) =>
  `${grantPath(grantId)}/milestones/${enc(milestoneId)}`;
const disputePath = (dealId: string) => `/deals/${enc(dealId)}/dispute`;
const disclosurePath = (disclosureId: string) => `/disclosures/${enc(disclosureId)}`;
const dealPath = (dealId: string) => `/deals/${enc(dealId)}`;
const subscriptionPath = (subscriptionId: string) => `/subscriptions/${enc(subscriptionId)}`;

/** The content address of evidence text, as the API's blob store names it. */
export const evidenceRef = (text: string) => sha256Ref(Buffer.from(text, 'utf8'));

export async function submitGrantEvidence<T>(
  client: TuskClient,
  grantId: string,
  milestoneId: string,
  evidence: string,
): Promise<T> {
  const content = { milestoneId, ref: evidenceRef(evidence) };
  const proof = await client.decide(grantPath(grantId), 'grant_evidence', content, grantId);
  return client.post<T>(`${milestonePath(grantId, milestoneId)}/evidence`, { evidence, ...proof });
}

export async function approveMilestone<T>(
  client: TuskClient,
  grantId: string,
  milestoneId: string,
): Promise<T> {
  const proof = await client.decide(grantPath(grantId), 'milestone_approval', { milestoneId }, grantId);
  return client.post<T>(`${milestonePath(grantId, milestoneId)}/approve`, proof);
}

/** `deadline` is an ISO date-time with offset; the sponsor signs it as milliseconds since the epoch. */
export async function extendMilestone<T>(
  client: TuskClient,
  grantId: string,
  milestoneId: string,
  deadline: string,
): Promise<T> {
  const content = { milestoneId, deadline: Date.parse(deadline) };
  const proof = await client.decide(grantPath(grantId), 'deadline_extension', content, grantId);
  return client.post<T>(`${milestonePath(grantId, milestoneId)}/extend`, { deadline, ...proof });
}

/**
 * The grantee gives back, now, everything of the grant not yet paid to it (summed from the grant's
 * status): it signs that amount, so settlement returns exactly it to the sponsor before the deadlines.
 */
export async function consentToRemainder<T>(client: TuskClient, grantId: string): Promise<T> {
  const status = await client.get<{ milestones?: { amount?: string; stage: string }[] }>(grantPath(grantId));
  const unpaid = (status.milestones ?? []).filter((m) => m.stage !== 'released');
  if (unpaid.some((m) => m.amount === undefined))
    throw new Error(`grant ${grantId}'s status shows no amounts: only its grantee gives its remainder back`);
  const amount = unpaid.reduce((sum, m) => sum + BigInt(m.amount!), 0n).toString();
  const proof = await client.decide(grantPath(grantId), 'remainder_consent', { amount }, grantId);
  return client.post<T>(`${grantPath(grantId)}/remainder/consent`, { amount, ...proof });
}

/**
 * The buyer accepts a delivered deal: the seller (each seller of a multi-seller sum) is paid now
 * rather than at the window's end. Settlement checks the same signature before it pays.
 */
export async function confirmDeal<T>(
  client: TuskClient,
  dealId: string,
  kind: 'cohort_query' | 'multi_seller' = 'cohort_query',
): Promise<T> {
  const path = kind === 'multi_seller' ? `/multi-seller-deals/${enc(dealId)}` : dealPath(dealId);
  const proof = await client.decide(path, 'deal_confirmation', {}, dealId);
  return client.post<T>(`${path}/confirm`, proof);
}

/** The buyer or the seller disputes a delivered deal; the reason is part of what it signs. */
export async function openDispute<T>(client: TuskClient, dealId: string, reason: string): Promise<T> {
  const proof = await client.decide(dealPath(dealId), 'dispute_opening', { reason }, dealId);
  return client.post<T>(disputePath(dealId), { reason, ...proof });
}

/**
 * Whether a subscription's run moved on while a decision was being signed for it: the signature is
 * for the old run, or it reached the new run before that run hashed its terms (its "starting").
 */
const runMoved = (error: unknown) =>
  error instanceof TuskApiError &&
  (error.code === 'decision_signature_invalid' ||
    (error.code === 'invalid_state' && / is starting; try again$/.test(error.reason)));

/**
 * The subscriber ends its subscription at the current period's end. A subscription continues as new
 * every few periods: a cancel signed for the run that just ended is refused, so it is signed again
 * for the new run (a few times at most).
 */
export async function cancelSubscription<T>(client: TuskClient, subscriptionId: string): Promise<T> {
  const path = subscriptionPath(subscriptionId);
  for (let tries = 1; ; tries++) {
    const proof = await client.decide(path, 'subscription_cancellation', {}, subscriptionId);
    try {
      return await client.post<T>(`${path}/cancel`, proof);
    } catch (error) {
      if (!runMoved(error) || tries >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The subscriber reports, in a grace window, that it topped up: the period's charge is tried again
 * now. Signed over the run and the period in grace its status shows (signed again if the run moved).
 */
export async function reportPaymentReady<T>(client: TuskClient, subscriptionId: string): Promise<T> {
  const path = subscriptionPath(subscriptionId);
  for (let tries = 1; ; tries++) {
    const { currentPeriod: period } = await client.get<{ currentPeriod: number }>(path);
    const proof = await client.decide(path, 'subscription_payment_ready', { period }, subscriptionId);
    try {
      return await client.post<T>(`${path}/payment-ready`, { period, ...proof });
    } catch (error) {
      if (!runMoved(error) || tries >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** A period's escrow as a subscription's status names it, checked to be that subscription's and period's. */
function periodEscrowShown(escrowId: string | undefined, subscriptionId: string, period: number): string {
  const ref = escrowId === undefined ? undefined : parseEscrowId(escrowId);
  if (ref?.kind !== 'period' || ref.subscriptionId !== subscriptionId || ref.period !== period)
    throw new Error(
      `subscription ${subscriptionId}'s status names no escrow of period ${period}: refusing to sign`,
    );
  return escrowId!;
}

/**
 * The subscriber disputes a delivered period before its end (its status's `held`): it signs the
 * period, its escrow and the reason, and the period's payout waits for the seller's concession or the
 * dispute's deadline.
 */
export async function disputeSubscriptionPeriod<T>(
  client: TuskClient,
  subscriptionId: string,
  period: number,
  reason: string,
): Promise<T> {
  const path = subscriptionPath(subscriptionId);
  const { held } = await client.get<{ held?: { period: number; escrowId: string } }>(path);
  if (held?.period !== period)
    throw new Error(`period ${period} of ${subscriptionId} is not awaiting its payout: nothing to dispute`);
  const escrowId = periodEscrowShown(held.escrowId, subscriptionId, period);
  const proof = await client.decide(path, 'dispute_opening', { period, escrowId, reason }, subscriptionId);
  return client.post<T>(`${path}/dispute`, { period, reason, ...proof });
}

/**
 * The seller concedes a disputed period: its signed `refund_consent` of that period's escrow, which
 * settlement refunds on (and on no other period's).
 */
export async function concedeSubscriptionPeriod<T>(
  client: TuskClient,
  subscriptionId: string,
  period: number,
): Promise<T> {
  const path = subscriptionPath(subscriptionId);
  const { disputes } = await client.get<{ disputes?: { period: number; escrowId: string; stage: string }[] }>(
    path,
  );
  const dispute = disputes?.find((d) => d.period === period && d.stage === 'open');
  if (!dispute) throw new Error(`period ${period} of ${subscriptionId} has no open dispute`);
  const escrowId = periodEscrowShown(dispute.escrowId, subscriptionId, period);
  const proof = await client.decide(path, 'refund_consent', { escrowId }, subscriptionId);
  return client.post<T>(`${path}/concede`, { period, ...proof });
}

export async function addDisputeEvidence<T>(
  client: TuskClient,
  dealId: string,
  evidence: string,
): Promise<T> {
  const content = { ref: evidenceRef(evidence) };
  const proof = await client.decide(disputePath(dealId), 'dispute_evidence', content, dealId);
  return client.post<T>(`${disputePath(dealId)}/evidence`, { evidence, ...proof });
}

export async function nameReviewer<T>(client: TuskClient, dealId: string, reviewerId: string): Promise<T> {
  const proof = await client.decide(disputePath(dealId), 'reviewer_nomination', { reviewerId }, dealId);
  return client.post<T>(`${disputePath(dealId)}/reviewer`, { reviewerId, ...proof });
}

/** The named reviewer's read of the evidence: signed afresh (a new nonce) for each read. */
export async function readDisputeEvidence<T>(client: TuskClient, dealId: string): Promise<T> {
  const read = await client.signedView(disputePath(dealId), 'evidence_read');
  return client.get<T>(`${disputePath(dealId)}/evidence?${read}`);
}

export async function approveOutcome<T>(client: TuskClient, dealId: string, outcome: unknown): Promise<T> {
  const proof = await client.decide(disputePath(dealId), 'dispute_outcome', { outcome }, dealId);
  return client.post<T>(`${disputePath(dealId)}/approvals`, { outcome, ...proof });
}

/**
 * The seller concedes a deal's dispute: its signed consent that the deal's escrow (as the dispute's
 * status names it) goes back to the buyer. Settlement refunds on that signature.
 */
export async function concedeDispute<T>(client: TuskClient, dealId: string): Promise<T> {
  const { escrowId } = await client.get<{ escrowId?: string }>(disputePath(dealId));
  if (!escrowId) throw new Error(`the dispute of ${dealId} names no escrow to give back`);
  const proof = await client.decide(disputePath(dealId), 'refund_consent', { escrowId }, dealId);
  return client.post<T>(`${disputePath(dealId)}/concede`, proof);
}

/** Signed over exactly what the request shows: its run, its deal and terms, its fields, its auditor. */
export async function decideDisclosure<T>(
  client: TuskClient,
  disclosureId: string,
  decision: 'approve' | 'deny',
): Promise<T> {
  const request = await client.get<{ scope?: DecisionScope; fields: string[]; auditorId: string }>(
    disclosurePath(disclosureId),
  );
  const content = { decision, fields: request.fields, auditorId: request.auditorId };
  // Waits for the scope: a new disclosure shows it once the coordinator has checked the deal's terms.
  const proof = await client.decide(disclosurePath(disclosureId), 'disclosure_decision', content);
  return client.post<T>(`${disclosurePath(disclosureId)}/decisions`, { decision, ...proof });
}

/**
 * The auditor's export of a deal's audit bundle under an approved disclosure: signed afresh (a new
 * nonce) for each export, over the disclosure's run and subject, and recorded in its trail.
 */
export async function exportDealBundle<T>(
  client: TuskClient,
  dealId: string,
  disclosureId: string,
): Promise<T> {
  const signed = await client.signedView(disclosurePath(disclosureId), 'bundle_export');
  return client.get<T>(`/deals/${enc(dealId)}/audit-bundle?disclosureId=${enc(disclosureId)}&${signed}`);
}

/** The auditor's view of the disclosed fields: signed afresh (a new nonce) for each view. */
export async function viewDisclosure<T>(client: TuskClient, disclosureId: string): Promise<T> {
  const view = await client.signedView(disclosurePath(disclosureId), 'disclosure_view');
  return client.get<T>(`${disclosurePath(disclosureId)}/view?${view}`);
}
