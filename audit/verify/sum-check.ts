import { sha256Ref } from '../../lib/canonical-json';
import { HeKeyError } from '../../lib/he/ciphertexts';
import { decodeEnvelope } from '../../lib/he/he-result';
import { sumEnvelope, SumMismatchError } from '../../lib/he/sum-envelope';
import { encryptedAnswerCommitment, releaseStatement } from '../../lib/release-statement';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import type { ActivityCall } from '../history-json';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = 'multi-seller sum';

/** A contribution a seller's perimeter released, with the statement that commits to it. */
function signedContributionRef(call: ActivityCall): string | undefined {
  if (!call.completed || call.activityType !== 'encryptContribution') return undefined;
  const result = call.result as { contributionRef?: unknown; release?: unknown } | undefined;
  const ref = typeof result?.contributionRef === 'string' ? result.contributionRef : undefined;
  const statement = releaseStatement.safeParse(result?.release);
  if (!ref || !statement.success) return undefined;
  const { kind, commitment } = statement.data.body;
  return kind === 'he_contribution' && commitment === encryptedAnswerCommitment(ref) ? ref : undefined;
}

/** The bytes the bundle carries under `ref`, only if they are what the ref names. */
function blobOf(bundle: SignedBundle, ref: string): Buffer | undefined {
  const blob = bundle.body.blobs.find((b) => b.ref === ref);
  const bytes = blob && Buffer.from(blob.base64, 'base64');
  return bytes && sha256Ref(bytes) === ref ? bytes : undefined;
}

/**
 * The coordinator's sum, made again: the contributions the sellers' perimeters signed (each
 * statement commits to its ciphertext), added here, must give exactly the sum envelope delivered,
 * since BFV addition is deterministic. A sum that leaves a signed contribution out or adds one no
 * seller released is named. Nothing is decrypted (the auditor holds no HE key).
 */
export async function checkSumRecomputed(bundle: SignedBundle): Promise<CheckResult[]> {
  const calls = callsOfSubject(bundle.body.subject, bundle.body.runs);
  const sums = calls.filter((c) => c.completed && c.activityType === 'sumCiphertexts');
  if (sums.length === 0) return [];
  const signed = [...new Set(calls.flatMap((c) => signedContributionRef(c) ?? []))];
  const bytes = signed.map((ref) => blobOf(bundle, ref));
  const missing = signed.filter((_, i) => !bytes[i]);
  if (missing.length > 0)
    return [skipped(CHECK, `the bundle does not carry the contributions ${missing.join(', ')}`)];
  const results: CheckResult[] = [];
  for (const sum of sums) {
    const input = sum.input[0] as { dealId: string; heKeyRef: string };
    const result = sum.result as { resultRef?: string; commitment?: string };
    let expected: string;
    try {
      expected = sha256Ref(
        await sumEnvelope(
          input,
          bytes.map((b) => decodeEnvelope(b!)),
        ),
      );
    } catch (error) {
      if (!(error instanceof SumMismatchError || error instanceof HeKeyError)) throw error;
      results.push(finding(CHECK, `the signed contributions cannot be added: ${error.message}`));
      continue;
    }
    const problems: string[] = [];
    if (result.resultRef !== expected)
      problems.push(
        `the sum delivered (${String(result.resultRef)}) is not the sum of the ${signed.length} contributions the sellers signed (${expected}): the coordinator left one out or added another`,
      );
    else if (result.commitment !== encryptedAnswerCommitment(expected))
      problems.push(`the sum's commitment ${String(result.commitment)} does not name the sum delivered`);
    results.push(
      ...fromProblems(CHECK, problems, `the sum of the ${signed.length} signed contributions, added again`),
    );
  }
  return results;
}
