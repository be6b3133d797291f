import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ReleaseLogWriter } from '../../lib/key-log';
import type { ReleaseStatement } from '../../lib/release-statement';
import {
  LOGGED_RELEASE_KINDS,
  releaseLookupKey,
  releaseStatementDigest,
} from '../../lib/transparency/release-entry';
import { RELEASE_PROOFS_FILE, type KeptReleaseProof } from '../../lib/transparency/kept-release';

export { RELEASE_PROOFS_FILE, type KeptReleaseProof };

/** An append-only file of kept proofs, one JSON line each, in the perimeter's state directory. */
export class ReleaseProofFile {
  readonly path: string;
  constructor(stateDir: string) {
    this.path = join(stateDir, RELEASE_PROOFS_FILE);
  }

  async keep(record: KeptReleaseProof): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify(record)}\n`, { flush: true });
  }
}

export interface ReleaseLogging {
  releaseLog: ReleaseLogWriter;
  releaseProofs: ReleaseProofFile;
}

/**
 * Enters a refundable release in the operator's transparency log before the answer leaves: settlement
 * then refuses a refund of it without the buyer's loss decided, whatever the workflow was shown. A log
 * that cannot be reached fails the activity, which is retried; the answer is stored, so the retry
 * serves it again under the same charge, and the log appends the same entry once.
 */
export async function logReleaseBeforeReturn(
  deps: ReleaseLogging,
  statement: ReleaseStatement,
): Promise<void> {
  const { body } = statement;
  if (!LOGGED_RELEASE_KINDS.has(body.kind)) return;
  const lookupKey = releaseLookupKey(body);
  const digest = releaseStatementDigest(statement);
  const { head, proof } = await deps.releaseLog.logRelease({ lookupKey, digest });
  await deps.releaseProofs.keep({
    lookupKey,
    digest,
    dealId: body.dealId,
    termsHash: body.termsHash,
    proof,
    treeHead: head,
  });
}
