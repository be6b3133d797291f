import type { ReleaseStatement } from '../../lib/release-statement';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import type { Party } from '../../lib/parties';
import { ApiError } from '../errors';
import { requireOwner } from '../redaction';

/** What both kinds of deal show about themselves that the buyer-only steps need. */
interface BuyerFacingStatus {
  buyerId: string;
  stage: string;
  result?: {
    resultRef: string;
    commitment: string;
    release?: ReleaseStatement;
    releases?: ReleaseStatement[];
  };
}

/**
 * The buyer accepts a delivered deal: only its buyer, only when delivered; a refused update is a 409.
 * `send` sends the workflow's confirm update (with the buyer's signed decision where it takes one)
 * once those checks have passed.
 */
export async function confirmAsBuyer<S extends BuyerFacingStatus>(
  party: Party,
  dealId: string,
  status: S,
  send: () => Promise<S>,
): Promise<S> {
  if (status.buyerId !== party.id)
    throw new ApiError('forbidden', `only the buyer of deal ${dealId} may confirm it`);
  if (status.stage !== 'delivered') {
    throw new ApiError(
      'not_confirmable',
      `deal ${dealId} is ${status.stage}; only a delivered deal can be confirmed`,
    );
  }
  try {
    return await send();
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw new ApiError('not_confirmable', error.cause?.message ?? `deal ${dealId} cannot be confirmed now`);
    }
    throw error;
  }
}

/** The deal's sealed result, for its buyer only, once there is one. */
export async function sealedResultFor(
  blobs: BlobStore,
  party: Party,
  dealId: string,
  status: BuyerFacingStatus,
) {
  requireOwner(party, status.buyerId, `only the buyer of deal ${dealId} may fetch its result`);
  if (!status.result)
    throw new ApiError('result_not_ready', `deal ${dealId} is ${status.stage}; no result yet`);
  return {
    dealId,
    resultRef: status.result.resultRef,
    commitment: status.result.commitment,
    ciphertext: (await blobs.get(status.result.resultRef)).toString('base64'),
    ...(status.result.release ? { release: status.result.release } : {}),
    ...(status.result.releases ? { releases: status.result.releases } : {}),
  };
}
