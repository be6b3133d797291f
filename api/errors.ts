/** Every error the API answers with: a stable code, its HTTP status, and a reason for people. */
export const errorCatalogue = {
  invalid_request: 400,
  /** Several sellers offer the template id: name one (sellerId). */
  seller_required: 400,
  unauthenticated: 401,
  /** A signed request the API has already accepted once: sign each request afresh. */
  request_replayed: 401,
  forbidden: 403,
  /** A time-bound access has ended: an access token, a reviewer's access, a disclosure's view. */
  access_expired: 403,
  access_token_invalid: 403,
  not_found: 404,
  deal_exists: 409,
  id_taken: 409,
  not_confirmable: 409,
  result_not_ready: 409,
  /** The lifecycle is not in a state that allows this; the reason says which state. */
  invalid_state: 409,
  already_decided: 409,
  not_approved: 409,
  body_too_large: 413,
  /** The party sent more requests than its limit allows in the window; the reason says when to retry. */
  rate_limited: 429,
  unsupported_media_type: 415,
  unknown_template: 422,
  template_hash_mismatch: 422,
  /** The hash is another seller's copy of the template than the one named (or chosen). */
  template_of_other_seller: 422,
  price_mismatch: 422,
  /** The signed fee is not the platform's fee (GET /templates says it). */
  fee_mismatch: 422,
  /** The signed terms' notAfter has passed: sign them again. */
  terms_expired: 422,
  /** Settlement knows the payer cannot pay what the request commits it to. */
  insufficient_funds: 422,
  invalid_parameters: 422,
  compliance_refused: 422,
  /** A disclosure's deal carries terms the coordinator would refuse (not its buyer's, not for it). */
  subject_refused: 422,
  invalid_terms: 422,
  /** The signature over the request's terms does not verify with the caller's registered key. */
  terms_signature_invalid: 422,
  /** A decision's signature is not the caller's over this run, subject, action and content. */
  decision_signature_invalid: 422,
  /** A signed decision presented after its own expiry (`notAfter`): sign it afresh. */
  decision_expired: 422,
  private_selection_not_offered: 422,
  /** A published template's signature does not verify with its seller's registered key. */
  template_signature_invalid: 422,
  /** A proposed template fails lint: the message lists every problem and how to fix it. */
  template_lint_failed: 422,
  unknown_blob: 422,
  too_few_sellers: 422,
  templates_differ: 422,
  /** A history payload is encrypted under a key the codec does not hold. */
  unknown_history_key: 422,
  /** A history payload does not authenticate under its key. */
  payload_tampered: 422,
  internal: 500,
  temporal_unavailable: 503,
  /** Redis, where accepted signatures are remembered, does not answer: no request is accepted unchecked. */
  replay_check_unavailable: 503,
  /** The coordinator, which verifies a signed decision before it counts, did not answer: try again. */
  coordinator_unavailable: 503,
  /** The seller's perimeter did not answer, or cannot use its ledger. */
  perimeter_unavailable: 503,
  /** Settlement could not anchor the log head on chain now (the worker or the node did not answer). */
  anchor_unavailable: 503,
  /** The API sheds load before its event loop stalls; retry after the Retry-After header. */
  overloaded: 503,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }

  get status(): number {
    return errorCatalogue[this.code];
  }
}
