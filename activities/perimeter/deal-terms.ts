import { canonicalHash } from '../../lib/canonical-json';
import { parseSubscriptionRunId } from '../../lib/ids/run-ids';
import type { DealCompliance } from '../../query-policies/compliance';
import type { ParameterValues } from '../../query-policies/template';
import {
  budgetKeyOf,
  sameJson,
  signedTermsSchema,
  termsBodies,
  termsSignatureValid,
  type SignedTerms,
  type TermsBodyOf,
  type TermsKind,
} from '../../lib/signed-terms';
import { payerRole, registeredKeyProblem, type RegisteredKeys } from '../../lib/key-log';
import { refuse } from './refusal';
import type { PrivateSelection } from '../../workflows/deal/shapes';
import type { PerimeterCheck } from '../../workflows/grant/shapes';

/** What an activity was asked to run; only the fields it was given are compared. */
export interface QueryCall {
  dealId: string;
  templateId: string;
  templateHash: string;
  parameters: ParameterValues;
  compliance?: DealCompliance;
  buyerKeyRef?: string;
  heKeyRef?: string;
  privateSelection?: PrivateSelection;
  terms?: SignedTerms;
}

export type MilestoneCall = PerimeterCheck & {
  grantId: string;
  milestoneId: string;
  terms?: SignedTerms;
};

/**
 * What the perimeter binds its state to: the hash of everything signed (kind, signer, key, body).
 * Reservations, stored answers and milestone runs are kept under (id, this hash, the signer's key).
 */
export function termsHashOf(terms: SignedTerms): string {
  const { kind, signer, publicKey, body } = terms;
  return canonicalHash({ kind, signer, publicKey, body });
}

/**
 * Who signed and what: the budget key charged, the terms hash the perimeter's state is bound to, and
 * the terms' nonce (empty when they carry none), which keys that state beside the id.
 */
export interface TermsBinding {
  buyerId: string;
  termsHash: string;
  nonce: string;
}

/** The signed nonce of any terms, or '' when they carry none (terms from before signed money). */
export function termsNonceOf(terms: SignedTerms): string {
  const nonce = terms.body.nonce;
  return typeof nonce === 'string' ? nonce : '';
}

/**
 * A subscription's run id as the workflow builds it (lib/ids/run-ids.ts); its period within the signed
 * number of periods when the terms state one (`periods`).
 */
function subscriptionRun(dealId: string, subscriptionId: string, rawBody: Record<string, unknown>) {
  const run = parseSubscriptionRunId(dealId, subscriptionId);
  const periods = rawBody.periods;
  if (!run || (typeof periods === 'number' && run.period > periods)) return undefined;
  return run;
}

/** The terms, if they carry a valid signature of the kind expected; refuses otherwise. */
function verified<K extends TermsKind>(terms: unknown, kinds: readonly K[]) {
  const envelope = signedTermsSchema.safeParse(terms);
  if (!envelope.success)
    refuse('TermsSignatureInvalid', 'the deal carries no signed terms: nobody asked for it');
  const signed = envelope.data;
  if (!termsSignatureValid(signed))
    refuse('TermsSignatureInvalid', `the terms' signature does not verify with the key they name`);
  const kind = signed.kind as K;
  if (!kinds.includes(kind))
    refuse('TermsSignatureInvalid', `signed ${signed.kind} terms cannot authorise this activity`);
  const body = termsBodies[kind].safeParse(signed.body);
  if (!body.success) refuse('TermsSignatureInvalid', `the signed ${kind} terms are not well formed`);
  return {
    kind,
    body: body.data,
    publicKey: signed.publicKey,
    termsHash: termsHashOf(signed),
    nonce: termsNonceOf(signed),
    raw: signed.body,
  };
}

function refuseMismatch(differs: Record<string, boolean>): void {
  const fields = Object.keys(differs).filter((field) => differs[field]);
  if (fields.length > 0)
    refuse('TermsMismatch', `the deal's ${fields.join(', ')} differ from the terms its buyer signed`);
}

/**
 * Checks a query activity against the signed terms behind it and returns the identity to charge:
 * the signer's verified key. Nothing the activity carries besides the terms is trusted: every field
 * it was given must be the signed one.
 */
export function authorizeQuery(call: QueryCall, sellerId: string): string {
  return authorizeQueryTerms(call, sellerId).buyerId;
}

/** As `authorizeQuery`, with the hash of the terms the perimeter's state is bound to. */
export function authorizeQueryTerms(call: QueryCall, sellerId: string): TermsBinding {
  const terms = verified(call.terms, ['cohort_query', 'multi_seller', 'subscription'] as const);
  const given = <F extends keyof QueryCall>(field: F) => field in call && call[field] !== undefined;
  switch (terms.kind) {
    case 'cohort_query': {
      const body = terms.body as TermsBodyOf<'cohort_query'>;
      refuseMismatch({
        dealId: call.dealId !== body.dealId,
        // A buyer who named a seller bought that seller's copy only.
        seller: body.sellerId !== undefined && body.sellerId !== sellerId,
        templateId: call.templateId !== body.templateId,
        templateHash: call.templateHash !== body.templateHash,
        parameters: !sameJson(call.parameters, body.parameters),
        compliance: given('compliance') && !sameJson(call.compliance, body.compliance),
        'result key': given('buyerKeyRef') && call.buyerKeyRef !== body.resultKeyRef,
        // The selection is compared whenever a result is asked for, so none can be added or dropped.
        privateSelection: given('buyerKeyRef') && !sameJson(call.privateSelection, body.privateSelection),
        heKeyRef: given('heKeyRef'),
      });
      break;
    }
    case 'multi_seller': {
      const body = terms.body as TermsBodyOf<'multi_seller'>;
      const mine = body.sellers.find((seller) => seller.sellerId === sellerId);
      refuseMismatch({
        dealId: call.dealId !== body.dealId,
        sellers: !mine,
        templateId: call.templateId !== body.templateId,
        templateHash: call.templateHash !== mine?.templateHash,
        parameters: !sameJson(call.parameters, body.parameters),
        compliance: given('compliance') && !sameJson(call.compliance, body.compliance),
        heKeyRef: given('heKeyRef') && call.heKeyRef !== body.heKeyRef,
        'result key': given('buyerKeyRef'),
      });
      break;
    }
    case 'subscription': {
      const body = terms.body as TermsBodyOf<'subscription'>;
      // Scheduled runs are `<subscription id>/period-<n>/query-<i>`: query i of the signed list, a
      // period within the signed number. Any other id is refused, so state is kept per period.
      const run = subscriptionRun(call.dealId, body.subscriptionId, terms.raw);
      const query = run ? body.queries[run.queryIndex] : undefined;
      refuseMismatch({
        dealId: !query,
        seller: query?.sellerId !== undefined && query.sellerId !== sellerId,
        templateId: call.templateId !== query?.templateId,
        templateHash: call.templateHash !== query?.templateHash,
        parameters: !sameJson(call.parameters, query?.parameters),
        compliance: given('compliance') && !sameJson(call.compliance, body.compliance),
        'result key': given('buyerKeyRef') && call.buyerKeyRef !== body.resultKeyRef,
        privateSelection: given('privateSelection'),
        heKeyRef: given('heKeyRef'),
      });
      break;
    }
  }
  return { buyerId: budgetKeyOf(terms.publicKey), termsHash: terms.termsHash, nonce: terms.nonce };
}

/**
 * A milestone check runs only as the sponsor signed it: that grant, that milestone, that threshold.
 * Returns the budget key to charge.
 */
export function authorizeMilestoneCheck(call: MilestoneCall): string {
  return authorizeMilestoneTerms(call).buyerId;
}

/** As `authorizeMilestoneCheck`, with the hash of the grant terms the milestone's run is bound to. */
export function authorizeMilestoneTerms(call: MilestoneCall): TermsBinding {
  const { body, publicKey, termsHash, nonce } = verified(call.terms, ['grant'] as const);
  const { grantId, milestones } = body as TermsBodyOf<'grant'>;
  const milestone = milestones.find((m) => m.milestoneId === call.milestoneId);
  const check = milestone?.check.kind === 'query' ? milestone.check : undefined;
  refuseMismatch({
    grantId: call.grantId !== grantId,
    milestone: !check,
    templateId: call.templateId !== check?.templateId,
    templateHash: call.templateHash !== check?.templateHash,
    parameters: !sameJson(call.parameters, check?.parameters),
    metric: call.metric !== check?.metric,
    threshold: call.threshold !== check?.threshold,
  });
  return { buyerId: budgetKeyOf(publicKey), termsHash, nonce };
}

/**
 * Who signed is who is named: the terms' key must be the newest key the transparency log registers
 * for the party they name, in the role that bears the charge (a grant's sponsor, otherwise the buyer).
 * A fresh key that merely names a registered buyer is refused here, before anything is reserved.
 */
export async function requireRegisteredSigner(terms: unknown, keys: RegisteredKeys): Promise<void> {
  const envelope = signedTermsSchema.safeParse(terms);
  if (!envelope.success)
    refuse('TermsSignatureInvalid', 'the deal carries no signed terms: nobody asked for it');
  const { kind, signer, publicKey } = envelope.data;
  const problem = await registeredKeyProblem(keys, { partyId: signer, publicKey }, [payerRole(kind)]);
  if (problem) refuse('SignerNotRegistered', problem);
}

/**
 * When the buyer's signed terms stop authorising a fresh answer: the `notAfter` of a deal's terms
 * (one seller or several), in ms. Undefined for terms that sign none that bounds an answer: older
 * terms, a subscription (its window bounds when it may start, its later periods come after it) and a
 * grant (its milestones carry their own deadlines).
 */
export function freshAnswerDeadlineOf(terms: SignedTerms): number | undefined {
  if (terms.kind !== 'cohort_query' && terms.kind !== 'multi_seller') return undefined;
  const notAfter = terms.body.notAfter;
  return typeof notAfter === 'string' ? Date.parse(notAfter) : undefined;
}

/**
 * Refuses a fresh answer once the buyer's signed `notAfter` has passed on the perimeter's own clock,
 * so an answer delivered after it cannot exist and settlement may refund an undelivered deal then.
 * An unreadable date counts as passed: the perimeter answers only within what the buyer signed.
 */
export function refuseExpiredTerms(terms: SignedTerms, now: number): void {
  const deadline = freshAnswerDeadlineOf(terms);
  if (deadline === undefined || now <= deadline) return;
  refuse(
    'TermsExpired',
    `the buyer's terms expired at ${Number.isNaN(deadline) ? 'an unreadable time' : new Date(deadline).toISOString()}: no fresh answer is computed`,
  );
}
