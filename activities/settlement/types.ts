/**
 * Escrow ids: the key every settlement action is idempotent on. Each names what it escrows, by kind,
 * so two escrows of different kinds can never share an id (a one-time deal called `m1.seller-a` is not
 * multi-seller deal `m1`'s share for `seller-a`). Pure and deterministic: workflows import it.
 */
export type EscrowRef =
  /** A one-time cohort-query deal's payment. */
  | { kind: 'deal'; dealId: string }
  /** One seller's share of a multi-seller deal. */
  | { kind: 'share'; dealId: string; sellerId: string }
  /** One period's charge of a subscription. */
  | { kind: 'period'; subscriptionId: string; period: number }
  /** A milestone grant's whole funding, paid out in tranches. */
  | { kind: 'grant'; grantId: string }
  /** The frozen escrow of a disputed deal, once a split decided by the dispute pays it out. */
  | { kind: 'dispute'; dealId: string };

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

/** The escrow id of `ref`: `kind:part[:part]`, each part percent-encoded. Injective. */
export function escrowId(ref: EscrowRef): string {
  if (ref.kind === 'period' && (!Number.isSafeInteger(ref.period) || ref.period < 1))
    throw new RangeError(`a subscription period is a whole number from 1, got ${ref.period}`);
  const parts = partsOf(ref);
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

function refOf(kind: string | undefined, parts: string[]): EscrowRef | undefined {
  const [a, b] = parts;
  switch (kind) {
    case 'deal':
    case 'dispute':
    case 'grant':
      if (parts.length !== 1 || !a) return undefined;
      return kind === 'grant' ? { kind, grantId: a } : { kind, dealId: a };
    case 'share':
      return parts.length === 2 && a && b ? { kind, dealId: a, sellerId: b } : undefined;
    case 'period': {
      if (parts.length !== 2 || !a || !b || !/^[1-9][0-9]{0,14}$/.test(b)) return undefined;
      return { kind, subscriptionId: a, period: Number(b) };
    }
    default:
      return undefined;
  }
}

/** The escrow id of a one-time deal. */
export const dealEscrowId = (dealId: string) => escrowId({ kind: 'deal', dealId });
/** The escrow id of one seller's share in a multi-seller deal. */
export const shareEscrowId = (dealId: string, sellerId: string) =>
  escrowId({ kind: 'share', dealId, sellerId });
/** The escrow id of a subscription's period (1-based). */
export const periodEscrowId = (subscriptionId: string, period: number) =>
  escrowId({ kind: 'period', subscriptionId, period });
/** The escrow id of a milestone grant. */
export const grantEscrowId = (grantId: string) => escrowId({ kind: 'grant', grantId });
