import { registeredPerimeterKey, noPerimeterKeyProblem, type TuskClient } from '../../sdk';
import { previewSignatureProblem } from '../../query-policies/draft-signature';
import type { TemplateReviewStatus } from '../../workflows/template-review/shapes';
import { logKeyOf } from '../buyer/release-acceptance';

/** Why each revision's preview is not its seller's perimeter's, by revision; absent when it is. */
export type PreviewProblems = Map<number, string>;

/**
 * Checks every preview against the seller's perimeter key in the transparency log (under the pinned
 * operator key, or the one the API names): a preview the operator made up is shown as such.
 */
export async function previewProblems(
  client: TuskClient,
  status: TemplateReviewStatus,
): Promise<PreviewProblems> {
  const problems: PreviewProblems = new Map();
  const previewed = status.revisions.filter((r) => r.preview?.kind === 'previewed');
  if (previewed.length === 0) return problems;
  const key = await registeredPerimeterKey(client, status.sellerId, await logKeyOf(client));
  for (const { revision, preview } of previewed) {
    if (preview?.kind !== 'previewed') continue;
    const problem = key ? previewSignatureProblem(preview, key) : noPerimeterKeyProblem(status.sellerId);
    if (problem) problems.set(revision, problem);
  }
  return problems;
}
