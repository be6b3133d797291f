import type { PrivateSelection } from '../../workflows/deal/shapes';
import type { DraftPreview, SignedDraft } from '../../workflows/template-review/shapes';
import type { ReleaseStatement } from '../../lib/release-statement';
import type { DealCompliance } from '../../query-policies/compliance';
import type { ParameterValues } from '../../query-policies/template';
import type { SignedTerms } from '../../lib/signed-terms';

export interface ReservePrivacyInput {
  dealId: string;
  buyerId: string;
  templateId: string;
  templateHash: string;
  parameters: ParameterValues;
  compliance: DealCompliance;
  /** What the buyer signed; the perimeter verifies it and trusts nothing else above. */
  terms: SignedTerms;
}

/** A privacy reservation: the answer's cost, or 0 when an identical query was already answered. */
export interface PrivacyReservation {
  epsilon: number;
  repeat: boolean;
}

export interface PrivacyBudgetInput {
  dataset: string;
  /** The buyer whose own figures are wanted too; without it only the dataset's total. */
  buyerId?: string;
}

/** One budget inside the window: ε stated at the budget's δ (ρ-zCDP answers converted there). */
export interface BudgetFiguresResult {
  budget: { epsilon: number; delta: number };
  spent: { epsilon: number; delta: number; rho: number };
  left: { epsilon: number; delta: number };
}

/** Budget figures only, never data. */
export interface PrivacyBudgetResult {
  dataset: string;
  /** Absent for a lifetime budget (the default): every charge ever committed counts. */
  windowDays?: number;
  windowStart?: number;
  /** The datasets sharing this budget, when the seller marked them as holding the same people. */
  sharedWith?: string[];
  /** All buyers together. */
  total: BudgetFiguresResult;
  buyer?: BudgetFiguresResult;
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
  /** A private selection: only the selected groups' sums come back, encrypted to the buyer's HE key. */
  privateSelection?: PrivateSelection;
  /** What the buyer signed; the perimeter verifies it and trusts nothing else above. */
  terms: SignedTerms;
}

/** One seller's part of a multi-seller sum. */
export interface EncryptContributionInput extends Omit<
  RunApprovedQueryInput,
  'buyerKeyRef' | 'privateSelection'
> {
  heKeyRef: string;
}

export interface ContributionResult {
  /** An encrypted vector only the buyer's key opens; the coordinator adds it to the others. */
  contributionRef: string;
  epsilonSpent: number;
  repeat: boolean;
  /** The perimeter's signed statement of this contribution (kind `he_contribution`). */
  release?: ReleaseStatement;
}

/**
 * What leaves the perimeter: references, a commitment and the answer's stated cost — never rows,
 * plaintext or any count (not even how many groups were released: that depends on the data).
 */
export interface RunApprovedQueryResult {
  resultRef: string;
  commitment: string;
  epsilonSpent: number;
  /** An identical earlier query's answer, returned again at no cost. */
  repeat: boolean;
  /** The perimeter's signed statement of this release: a sealed table, an HE selection, a delivery. */
  release?: ReleaseStatement;
}

/** Non-retryable refusals: the deal is refunded and the reason is shown to the buyer as is. */
export type PerimeterRefusal =
  | 'TemplateNotFound'
  | 'TemplateSignatureInvalid'
  | 'TemplateHashMismatch'
  | 'InvalidParameters'
  | 'InvalidBuyerKey'
  | 'InvalidSelection'
  | 'PrivateSelectionNotAllowed'
  | 'MultiSellerNotAllowed'
  | 'TooManySellers'
  | 'MilestoneNotAllowed'
  | 'MilestoneChecksExhausted'
  | 'TermsSignatureInvalid'
  | 'TermsMismatch'
  /** The buyer's signed notAfter has passed on the perimeter's clock: no fresh answer. */
  | 'TermsExpired'
  | 'SignerNotRegistered'
  | 'KeyLogUnverified'
  | 'ComplianceRefused'
  | 'BudgetExhausted'
  | 'DatasetPolicyMissing'
  | 'LedgerUnavailable'
  | 'NoReservation'
  | 'TermsConflict'
  /** The perimeter signed a refusal of this deal under these terms before: it never answers them. */
  | 'DealRefused'
  | 'TemplateSqlRejected'
  | 'DatasetUnavailable'
  | 'QueryFailed'
  /** Any failure of a query after the reservation (error, memory, timeout): one fixed message, charged in full. */
  | 'QueryFailedAfterReservation';

/** The preview of a proposed template (activities/perimeter/draft-preview.ts): runs on a synthetic twin only. */
export interface PreviewActivities {
  previewDraft(draft: SignedDraft): Promise<DraftPreview>;
}
