/**
 * Workflow ids of the lifecycles, from their business keys. Deal ids never contain `:`, so these
 * never collide with a deal's own workflow id.
 */
export const disputeWorkflowId = (dealId: string) => `${dealId}:dispute`;
export const subscriptionWorkflowId = (subscriptionId: string) => `subscription:${subscriptionId}`;
export const grantWorkflowId = (grantId: string) => `grant:${grantId}`;
export const disclosureWorkflowId = (disclosureId: string) => `disclosure:${disclosureId}`;
/**
 * A balance or budget read is its own short workflow with no business key. Its id is only a fresh
 * nonce: workflow ids are in clear in Temporal, so they name no account, seller or dataset (those
 * travel in the encrypted input).
 */
export const balanceLookupWorkflowId = (nonce: string) => `balance:${nonce}`;
export const budgetLookupWorkflowId = (nonce: string) => `budget:${nonce}`;
/** One anchoring per log head: a second request for the same head joins the first. */
export const logAnchorWorkflowId = (treeSize: number, rootHash: string) =>
  `log-anchor:${treeSize}:${rootHash}`;
export { templateReviewWorkflowId } from '../../workflows/template-review/shapes';
