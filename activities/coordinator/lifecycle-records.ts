import { ApplicationFailure } from '@temporalio/activity';
import { accessTokenContext, accessTokenHash, generateAccessToken } from '../../lib/access-token';
import type { BlobStore } from '../../lib/blob-store';
import { canonicalJson } from '../../lib/canonical-json';
import { seal } from '../../lib/sealed-box';
import { buyerKeyDocument } from '../../lib/sealed-result';

export interface AuditRecordInput {
  kind: 'dispute' | 'disclosure';
  /** The deal or disclosure the record is about. */
  subject: string;
  /** Ids, hashes and times only: the workflows never hold more. */
  events: { at: number; action: string; by: string; detail?: Record<string, string | number> }[];
}

export interface IssueAccessTokenInput {
  subscriptionId: string;
  period: number;
  buyerKeyRef: string;
}

export interface IssuedAccessToken {
  tokenHash: string;
  /** Blob reference of the token sealed to the buyer's X25519 key. */
  sealedTokenRef: string;
}

/** Records the lifecycles keep outside their histories: audit trails and sealed access tokens. */
export function createLifecycleRecordActivities(deps: { blobs: BlobStore }) {
  return {
    /** Content-addressed, so storing the same record twice is one blob. */
    async storeAuditRecord(input: AuditRecordInput): Promise<string> {
      return deps.blobs.put(Buffer.from(canonicalJson({ version: 1, ...input })));
    },

    /**
     * A new bearer token for one subscription period, sealed to the buyer: the token itself never
     * reaches the workflow, only its hash and the sealed box's reference.
     */
    async issueAccessToken(input: IssueAccessTokenInput): Promise<IssuedAccessToken> {
      let buyerKey: string;
      try {
        const document = await deps.blobs.get(input.buyerKeyRef);
        buyerKey = buyerKeyDocument.parse(JSON.parse(document.toString('utf8'))).publicKey;
      } catch {
        throw ApplicationFailure.nonRetryable(
          `no readable buyer key at ${input.buyerKeyRef}`,
          'InvalidBuyerKey',
        );
      }
      const token = generateAccessToken();
      const box = await seal(
        Buffer.from(token),
        buyerKey,
        accessTokenContext(input.subscriptionId, input.period),
      );
      return { tokenHash: accessTokenHash(token), sealedTokenRef: await deps.blobs.put(box) };
    },
  };
}
