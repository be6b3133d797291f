/**
 * The Tusk client SDK: the one entry point for scripts. Everything the `tusk` CLI does goes through
 * what is exported here.
 *
 *   import { TuskClient, openAnyResult, waitFor, RESTING_DEAL_STAGES } from './sdk';
 */
export { TuskClient, TuskApiError, TuskUnreachableError } from '../lib/tusk-client';
export { signRequest } from '../lib/signed-request';
export {
  signTerms,
  termsBodyOf,
  termsHashOf,
  type TermsKind,
  type TermsBody,
  type SignedTerms,
} from '../lib/signed-terms';
export {
  signDecision,
  type DecisionAction,
  type DecisionScope,
  type DecisionStatement,
  type SignedDecision,
} from '../lib/signed-decision';
export * from '../lib/signed-actions';
export { generateEd25519KeyPair, publicKeyOf } from '../lib/ed25519';
export { generateX25519KeyPair } from '../lib/sealed-box';
export { publicKeyFromPem } from '../lib/x25519-public';
export { openResult, type ResultPayload } from '../lib/sealed-result';
export { signTemplate, templateHash, checkTemplateSignature } from '../query-policies/signature';
export { signDatasetPolicy, type DatasetPolicy } from '../query-policies/dataset-policy';
export type { QueryTemplate } from '../query-policies/template';
export { generateHeKeys, type HeSecretKeyFile } from '../lib/he/buyer-keys';
export { encryptSelections, openSelections, openSum, groupIndex } from './he-selection';
export { decodeEnvelope, type HeVectorEnvelope } from '../lib/he/he-result';
export { uploadHeKeys } from './he-keys';
export {
  fetchDealResult,
  openAnyResult,
  heEnvelopeOf,
  type OpenedResult,
  type SealedResult,
  type TemplateLayout,
} from './results';
export {
  checkContributions,
  checkVerdict,
  type CheckedMilestone,
  checkRelease,
  noPerimeterKeyProblem,
  registeredKeyOf,
  registeredPerimeterKey,
  type ReleaseCheck,
  type ReleaseWanted,
} from './release-check';
export type { ReleaseStatement } from '../lib/release-statement';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait';
export {
  describePrivacy,
  openDealTable,
  operatorLogKey,
  ReleaseRefusedError,
  waitForDeal,
} from './deal-result';
export {
  RESTING_DEAL_STAGES,
  REFUSED_DEAL_STAGES,
  FINAL_GRANT_STAGES,
  REFUSED_GRANT_STAGES,
  FINAL_SUBSCRIPTION_STAGES,
  FINAL_DISCLOSURE_STAGES,
} from './stages';
export type { DealStatus, DealStage } from '../workflows/deal/shapes';
export type { SubscriptionStage, SubscriptionStatus } from '../workflows/subscription/shapes';
export type { DisclosureStage, DisclosureStatus } from '../workflows/disclosure/shapes';
export type { MultiSellerDealStatus, ShareEscrow } from '../workflows/multi-seller/shapes';
export type { BudgetView } from '../api/budgets/schemas';
