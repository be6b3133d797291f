/**
 * Workflow ids of the lifecycles, from their business keys. Deal ids never contain `:`, so these
 * never collide with a deal's own workflow id.
 */
export const disputeWorkflowId = (dealId: string) => `${dealId}:dispute`;
export const subscriptionWorkflowId = (subscriptionId: string) => `subscription:${subscriptionId}`;
export const grantWorkflowId = (grantId: string) => `grant:${grantId}`;
export const disclosureWorkflowId = (disclosureId: string) => `disclosure:${disclosureId}`;
/** A balance read, like a budget read, is its own short workflow. */
export const balanceLookupWorkflowId = (account: string, nonce: string) => `balance:${account}:${nonce}`;
/** A budget read has no business key of its own: each lookup is its own short workflow. */
export const budgetLookupWorkflowId = (sellerId: string, dataset: string, nonce: string) =>
  `budget:${sellerId}:${dataset}:${nonce}`;
/** One anchoring per log head: a second request for the same head joins the first. */
export const logAnchorWorkflowId = (treeSize: number, rootHash: string) =>
  `log-anchor:${treeSize}:${rootHash}`;
