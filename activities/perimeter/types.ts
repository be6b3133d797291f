import type { ParameterValues } from '../../query-policies/template';

export interface RunApprovedQueryInput {
  dealId: string;
  templateId: string;
  /** The hash the deal pinned: the perimeter runs the template only if it still hashes to this. */
  templateHash: string;
  parameters: ParameterValues;
  /** Blob reference of the buyer's X25519 public key. */
  buyerKeyRef: string;
}

/** What leaves the perimeter: references and counts, never rows or plaintext. */
export interface RunApprovedQueryResult {
  resultRef: string;
  commitment: string;
  groupsReleased: number;
  groupsSuppressed: number;
}

/** Non-retryable refusals: the deal is refunded and the reason is shown to the buyer as is. */
export type PerimeterRefusal =
  | 'TemplateNotFound'
  | 'TemplateSignatureInvalid'
  | 'TemplateHashMismatch'
  | 'InvalidParameters'
  | 'InvalidBuyerKey'
  | 'TemplateSqlRejected'
  | 'DatasetUnavailable'
  | 'QueryFailed'
  | 'QueryTimeout';

export const perimeterTaskQueue = (sellerId: string) => `perimeter.${sellerId}`;
