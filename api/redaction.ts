import type { z } from 'zod';
import type { Party, PartyRole } from '../lib/parties';
import type { DealStatus } from '../workflows/deal/shapes';
import type { DisclosableField, DisclosureStatus } from '../workflows/disclosure/shapes';
import type { DisputeStatus } from '../workflows/dispute/state';
import type { GrantStatus } from '../workflows/grant/state';
import type { MultiSellerDealStatus } from '../workflows/multi-seller/shapes';
import type { SubscriptionStatus } from '../workflows/subscription/shapes';
import type {
  dealStatus as dealStatusResponse,
  multiSellerDealStatus as multiSellerDealStatusResponse,
} from './deals/schemas';
import { ApiError } from './errors';

/**
 * The one rule for who sees what of a deal, multi-seller deal, subscription, grant, dispute or
 * disclosure:
 * - its own parties (buyer, seller(s), sponsor, grantee) and the operator see it whole;
 * - auditors and compliance see it without parties or amounts: those keys are absent (not null),
 *   `hidden` names what was taken out, problem reasons (which can quote either) are dropped, and a
 *   party named inside a trail appears as its side, `(buyer)` or `(seller)`; only an approved
 *   disclosure (`hiddenFieldsOf`) shows the hidden fields;
 * - nobody else sees it at all (403).
 * What belongs to one party alone (results, tokens, deliveries, evidence, a disclosure's view) goes
 * through `requireOwner`.
 */
export type View = 'whole' | 'redacted';

const REDACTED_ROLES: readonly PartyRole[] = ['auditor', 'compliance'];

export function viewOf(party: Party, parties: readonly string[], what: string): View {
  if (party.role === 'operator' || parties.includes(party.id)) return 'whole';
  if (REDACTED_ROLES.includes(party.role)) return 'redacted';
  throw new ApiError('forbidden', `${party.id} has no part in ${what}`);
}

const HIDDEN: DisclosableField[] = ['parties', 'amount'];

function codeOnly<P extends { code: string; reason: string } | undefined>(problem: P) {
  return problem && { code: problem.code };
}

function withoutKey<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  const { [key]: _dropped, ...rest } = value;
  return rest;
}

/** A party id in a trail, as its side of the deal, so the trail still reads. */
const sideOf = (sides: Record<string, string>) => (id: string) => sides[id] ?? id;

/** What a caller sees of a deal: the API's response schema, which derives from the workflow's shape. */
export type VisibleDealStatus = z.infer<typeof dealStatusResponse>;

export function dealAsSeenBy(party: Party, status: DealStatus): VisibleDealStatus {
  if (viewOf(party, [status.buyerId, status.sellerId], `deal ${status.dealId}`) === 'whole') return status;
  // The catalog every party can read maps a template (its hash, and its id) to its seller and price.
  const {
    buyerId: _b,
    sellerId: _s,
    price: _p,
    templateId: _t,
    templateHash: _h,
    dispute,
    problem,
    attention,
    ...rest
  } = status;
  const redacted: VisibleDealStatus = { ...rest, hidden: HIDDEN };
  // A money step's reason can quote parties and amounts, like a problem's.
  if (attention) redacted.attention = attention.map(({ reason: _r, ...item }) => item);
  if (dispute) {
    const { openedBy: _o, ...visible } = dispute;
    redacted.dispute = visible;
  }
  if (problem) redacted.problem = codeOnly(problem);
  return redacted;
}

/** What a caller sees of a multi-seller deal: the API's response schema, derived from the workflow's. */
export type VisibleMultiSellerDealStatus = z.infer<typeof multiSellerDealStatusResponse>;

export function multiSellerDealAsSeenBy(
  party: Party,
  status: MultiSellerDealStatus,
): VisibleMultiSellerDealStatus {
  const parties = [status.buyerId, ...status.sellerIds];
  if (viewOf(party, parties, `deal ${status.dealId}`) === 'whole') return status;
  // Contributors are seller ids too.
  // Escrows name sellers and amounts; attention steps name sellers too and reasons may quote amounts.
  const {
    buyerId: _b,
    sellerIds: _s,
    price: _p,
    templateId: _t,
    contributors: _c,
    problem,
    escrows: _e,
    attention,
    ...rest
  } = status;
  return {
    ...rest,
    ...(problem ? { problem: codeOnly(problem) } : {}),
    ...(attention
      ? {
          attention: attention.map(({ step, code, at, failures }) => ({
            step: step.split(':')[0]!,
            code,
            at,
            failures,
          })),
        }
      : {}),
    hidden: HIDDEN,
  };
}

export function subscriptionAsSeenBy(party: Party, status: SubscriptionStatus) {
  const what = `subscription ${status.subscriptionId}`;
  if (viewOf(party, [status.buyerId, status.sellerId], what) === 'whole') return status;
  const {
    buyerId: _b,
    sellerId: _s,
    pricePerPeriod: _p,
    cancelledBy: _c,
    problem,
    deliveries,
    payment,
    attention,
    disputes,
    ...rest
  } = status;
  return {
    ...rest,
    // A dispute's reason is the subscriber's own words about what it got.
    ...(disputes ? { disputes: disputes.map((dispute) => withoutKey(dispute, 'reason')) } : {}),
    ...(payment ? { payment: withoutKey(payment, 'amount') } : {}),
    ...(attention ? { attention: attention.map((item) => withoutKey(item, 'reason')) } : {}),
    deliveries: deliveries.map((delivery) => ({
      ...delivery,
      // A delivery's release statement names its seller.
      results: delivery.results.map((result) =>
        'problem' in result
          ? { ...result, problem: codeOnly(result.problem) }
          : withoutKey(result, 'release'),
      ),
    })),
    ...(problem ? { problem: codeOnly(problem) } : {}),
    hidden: HIDDEN,
  };
}

export function grantAsSeenBy(party: Party, status: GrantStatus) {
  if (viewOf(party, [status.sponsorId, status.granteeId], `grant ${status.grantId}`) === 'whole')
    return status;
  const {
    sponsorId: _s,
    granteeId: _g,
    total: _t,
    refunded: _r,
    problem,
    milestones,
    attention,
    // The sponsor's signed extensions name the grant's parties and terms hash.
    extensions: _x,
    ...rest
  } = status;
  return {
    ...rest,
    ...(attention ? { attention: attention.map((item) => withoutKey(item, 'reason')) } : {}),
    milestones: milestones.map(({ amount: _a, check, lastCheck, ...milestone }) => ({
      ...milestone,
      // The template's id and hash map to the seller and price through the catalog.
      check:
        check.kind === 'query'
          ? (({ sellerId: _s, templateId: _t, templateHash: _h, ...rest }) => rest)(check)
          : check,
      // A failed check's problem is a perimeter refusal: it can quote the seller and the parameters;
      // the verdict's release statement names the seller.
      ...(lastCheck ? { lastCheck: withoutKey(withoutKey(lastCheck, 'problem'), 'release') } : {}),
    })),
    ...(problem ? { problem: codeOnly(problem) } : {}),
    hidden: HIDDEN,
  };
}

const disputeParties = (status: DisputeStatus) => [status.buyerId, status.sellerId];

export function disputeAsSeenBy(party: Party, status: DisputeStatus) {
  const what = `the dispute of deal ${status.dealId}`;
  if (viewOf(party, disputeParties(status), what) === 'whole') return status;
  const side = sideOf({ [status.buyerId]: '(buyer)', [status.sellerId]: '(seller)' });
  const { buyerId: _b, sellerId: _s, openedBy: _o, escrowId: _e, evidence, audit, ...rest } = status;
  return {
    ...rest,
    evidence: evidence.map((e) => ({ ...e, by: side(e.by) })),
    audit: audit.map((event) => ({ ...event, by: side(event.by) })),
    hidden: ['parties'] as DisclosableField[],
  };
}

/** Dispute evidence, for its reviewer (who is compliance or an auditor): the text, each author as a side. */
export function evidenceAsSeenBy<E extends { by: string }>(
  party: Party,
  status: DisputeStatus,
  evidence: E[],
) {
  if (viewOf(party, disputeParties(status), `the dispute of deal ${status.dealId}`) === 'whole')
    return evidence;
  const side = sideOf({ [status.buyerId]: '(buyer)', [status.sellerId]: '(seller)' });
  return evidence.map((e) => ({ ...e, by: side(e.by) }));
}

/**
 * A disclosure names only its auditor, compliance principals and hashes, never the deal's parties or
 * amount: the auditor who asked, compliance and the operator see it whole; nobody else, other
 * auditors included (one auditor's requests are not another's business).
 */
export function disclosureAsSeenBy(party: Party, status: DisclosureStatus): DisclosureStatus {
  if (party.role === 'operator' || party.role === 'compliance' || party.id === status.auditorId)
    return status;
  throw new ApiError('forbidden', `${party.id} may not see disclosure ${status.disclosureId}`);
}

/**
 * What belongs to one party alone (a sealed result, an access token, a delivery, dispute evidence for
 * its reviewer, a disclosure's view) is shown to that party and nobody else: not the operator either.
 */
export function requireOwner(party: Party, ownerId: string | undefined, refusal: string): void {
  if (party.id !== ownerId) throw new ApiError('forbidden', refusal);
}

/** The hidden fields themselves: what an approved disclosure shows its auditor. */
export function hiddenFieldsOf(
  status: Pick<DealStatus, 'buyerId' | 'sellerId' | 'price'> | MultiSellerDealStatus,
  fields: DisclosableField[],
) {
  const sellers = 'sellerIds' in status ? { sellerIds: status.sellerIds } : { sellerId: status.sellerId };
  return {
    ...(fields.includes('parties') ? { buyerId: status.buyerId, ...sellers } : {}),
    ...(fields.includes('amount') ? { price: status.price } : {}),
  };
}
