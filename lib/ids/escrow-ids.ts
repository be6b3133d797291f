/**
 * Escrow ids: the key every settlement action is idempotent on. Each names what it escrows, by kind,
 * so two escrows of different kinds can never share an id (a one-time deal called `m1.seller-a` is not
 * multi-seller deal `m1`'s share for `seller-a`). Pure and deterministic: workflows import it.
 *
 * `nonce` is the payer's signed terms' nonce: the escrow belongs to those terms, so a business id the
 * payer signs again (or an operator reuses after Temporal forgot it) names a new escrow, and settlement
 * refuses an escrow whose nonce is not the signed one. Ids without one are from before signed money.
 */
export type EscrowRef = (
  | /** A one-time cohort-query deal's payment. */ { kind: 'deal'; dealId: string }
  | /** One seller's share of a multi-seller deal. */ { kind: 'share'; dealId: string; sellerId: string }
  | /** One period's charge of a subscription. */ { kind: 'period'; subscriptionId: string; period: number }
  | /** A milestone grant's whole funding, paid out in tranches. */ { kind: 'grant'; grantId: string }
  | /** The frozen escrow of a disputed deal, once a split decided by the dispute pays it out. */ {
      kind: 'dispute';
      dealId: string;
    }
) & { nonce?: string };

export type EscrowKind = EscrowRef['kind'];

export const ESCROW_KINDS = [
  'deal',
  'share',
  'period',
  'grant',
  'dispute',
] as const satisfies readonly EscrowKind[];

// Percent-encoding leaves no `:` inside a part, so `kind:part:part` reads back one way only.
const part = (value: string | number) => encodeURIComponent(String(value));

function partsOf(ref: EscrowRef): (string | number)[] {
  switch (ref.kind) {
    case 'deal':
    case 'dispute':
      return [ref.dealId];
    case 'share':
      return [ref.dealId, ref.sellerId];
    case 'period':
      return [ref.subscriptionId, ref.period];
    case 'grant':
      return [ref.grantId];
  }
}

/** The escrow id of `ref`: `kind:part[:part][:nonce]`, each part percent-encoded. Injective. */
export function escrowId(ref: EscrowRef): string {
  if (ref.kind === 'period' && (!Number.isSafeInteger(ref.period) || ref.period < 1))
    throw new RangeError(`a subscription period is a whole number from 1, got ${ref.period}`);
  const parts = [...partsOf(ref), ...(ref.nonce === undefined ? [] : [ref.nonce])];
  if (parts.some((p) => String(p) === '')) throw new RangeError(`an escrow id part of ${ref.kind} is empty`);
  return [ref.kind, ...parts.map(part)].join(':');
}

const PART = /^[A-Za-z0-9\-_.!~*'()%]+$/;

/** The escrow an id names, or undefined when it is not a namespaced escrow id. */
export function parseEscrowId(id: string): EscrowRef | undefined {
  const [kind, ...raw] = id.split(':');
  if (!raw.every((p) => PART.test(p))) return undefined;
  let parts: string[];
  try {
    parts = raw.map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const ref = refOf(kind, parts);
  // Only the canonical spelling counts, so one escrow has exactly one id.
  return ref && escrowId(ref) === id ? ref : undefined;
}

/** How many parts each kind names before its optional nonce. */
const PARTS: Record<EscrowKind, number> = { deal: 1, dispute: 1, grant: 1, share: 2, period: 2 };

function refOf(kind: string | undefined, all: string[]): EscrowRef | undefined {
  if (!(ESCROW_KINDS as readonly string[]).includes(kind ?? '')) return undefined;
  const size = PARTS[kind as EscrowKind];
  if (all.length !== size && all.length !== size + 1) return undefined;
  const parts = all.slice(0, size);
  const nonce = all[size];
  if (nonce !== undefined && !NONCE.test(nonce)) return undefined;
  const ref = namedRef(kind as EscrowKind, parts);
  return ref && { ...ref, ...withNonce(nonce) };
}

function namedRef(kind: EscrowKind, parts: string[]): EscrowRef | undefined {
  const [a, b] = parts;
  if (!a) return undefined;
  switch (kind) {
    case 'deal':
    case 'dispute':
      return { kind, dealId: a };
    case 'grant':
      return { kind, grantId: a };
    case 'share':
      return b ? { kind, dealId: a, sellerId: b } : undefined;
    case 'period':
      return b && /^[1-9][0-9]{0,14}$/.test(b) ? { kind, subscriptionId: a, period: Number(b) } : undefined;
  }
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const withNonce = (nonce: string | undefined) => (nonce === undefined ? {} : { nonce });

/** The escrow id of a one-time deal, under the buyer's signed terms' nonce. */
export const dealEscrowId = (dealId: string, nonce?: string) =>
  escrowId({ kind: 'deal', dealId, ...withNonce(nonce) });
/** The escrow id of one seller's share in a multi-seller deal. */
export const shareEscrowId = (dealId: string, sellerId: string, nonce?: string) =>
  escrowId({ kind: 'share', dealId, sellerId, ...withNonce(nonce) });
/** The escrow id of a subscription's period (1-based). */
export const periodEscrowId = (subscriptionId: string, period: number, nonce?: string) =>
  escrowId({ kind: 'period', subscriptionId, period, ...withNonce(nonce) });
/** The escrow id of a milestone grant. */
export const grantEscrowId = (grantId: string, nonce?: string) =>
  escrowId({ kind: 'grant', grantId, ...withNonce(nonce) });
/** The split of a disputed deal's escrow. */
export const disputeEscrowId = (dealId: string, nonce?: string) =>
  escrowId({ kind: 'dispute', dealId, ...withNonce(nonce) });

/**
 * The nonce of a payer's signed terms, read without verifying them (workflow code cannot): settlement
 * verifies the terms and refuses an escrow id whose nonce is not the signed one.
 */
export function termsNonceOf(terms: { body: Record<string, unknown> } | undefined): string | undefined {
  const nonce = terms?.body.nonce;
  return typeof nonce === 'string' && NONCE.test(nonce) ? nonce : undefined;
}
