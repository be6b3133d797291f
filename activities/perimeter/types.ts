import type { ParameterValues } from '../../query-policies/template';

/** What the buyer declares about its use of the answer; the template says what it allows. */
export interface DealCompliance {
  jurisdiction: string;
  purpose: string;
  acceptedDataClasses: string[];
}

export interface ReservePrivacyInput {
  dealId: string;
  buyerId: string;
  templateId: string;
  templateHash: string;
  parameters: ParameterValues;
  compliance: DealCompliance;
}

/** A privacy reservation: the answer's cost, or 0 when an identical query was already answered. */
export interface PrivacyReservation {
  epsilon: number;
  repeat: boolean;
}

export interface RunApprovedQueryInput {
  dealId: string;
  templateId: string;
  /** The hash the deal pinned: the perimeter runs the template only if it still hashes to this. */
  templateHash: string;
  parameters: ParameterValues;
  buyerId: string;
  /** Blob reference of the buyer's X25519 public key. */
  buyerKeyRef: string;
}

/** What leaves the perimeter: references and counts, never rows or plaintext. */
export interface RunApprovedQueryResult {
  resultRef: string;
  commitment: string;
  groupsReleased: number;
  groupsSuppressed: number;
  epsilonSpent: number;
  /** An identical earlier query's answer, returned again at no cost. */
  repeat: boolean;
}

/** Non-retryable refusals: the deal is refunded and the reason is shown to the buyer as is. */
export type PerimeterRefusal =
  | 'TemplateNotFound'
  | 'TemplateSignatureInvalid'
  | 'TemplateHashMismatch'
  | 'InvalidParameters'
  | 'InvalidBuyerKey'
  | 'ComplianceRefused'
  | 'BudgetExhausted'
  | 'NoReservation'
  | 'TemplateSqlRejected'
  | 'DatasetUnavailable'
  | 'QueryFailed'
  | 'QueryTimeout';

export const perimeterTaskQueue = (sellerId: string) => `perimeter.${sellerId}`;
