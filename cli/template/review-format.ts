import type { DraftIssue, DraftPreview, TemplateReviewStatus } from '../../workflows/template-review/shapes';
import type { FieldDifference } from '../../query-policies/template-diff';
import type { PreviewProblems } from './preview-check';
import type { OpenedNotes } from './sealed-notes';

const when = (ms: number) => new Date(ms).toISOString();

/** The preview names nothing of the draft: metrics go by their place in the draft's list. */
function previewLines(
  preview: DraftPreview | undefined,
  problem: string | undefined,
  openedIssues: DraftIssue[] | undefined,
): string[] {
  if (!preview) return ['  preview: waiting for the perimeter'];
  if (preview.kind === 'refused') {
    const issues = openedIssues ?? preview.issues;
    const sealed =
      preview.sealedIssues && !openedIssues
        ? [
            `    ${preview.sealedIssues.count} lint problem(s), sealed to you and the seller (--show opens them)`,
          ]
        : [];
    return [
      `  preview refused: ${preview.reason}`,
      ...sealed,
      ...issues.map((i) => `    - ${i.code}: ${i.message}\n      fix: ${i.fix}`),
    ];
  }
  const metrics = preview.metrics.map(
    (m, i) =>
      `    - metric ${i + 1} (${m.aggregate}): noise ±${m.noiseScale ?? '?'} against a typical ${m.typicalSum ?? 'n/a'}`,
  );
  return [
    problem
      ? `  PREVIEW NOT VERIFIED: ${problem}`
      : "  preview signed by the seller's perimeter key (checked against the log)",
    `  preview on a synthetic twin (${preview.twin.rows} rows, ${preview.twin.units} units, from the declared domains only):`,
    `    answer: ${preview.groups} groups on the twin, at most ${preview.maxGroups}`,
    `    counts: noise ±${preview.countNoiseScale} against a typical ${preview.typicalCount ?? 'n/a'}`,
    ...metrics,
    `    ε = ${preview.epsilon}, δ = ${preview.delta} per answer; the budgets allow ${preview.answersPerBuyer ?? '?'} answers per buyer, ${preview.answersTotal ?? '?'} for all buyers`,
  ];
}

/** A proposal in plain words: its stage, each revision with its preview, and the comments. */
export function formatReview(
  status: TemplateReviewStatus,
  problems: PreviewProblems = new Map(),
  opened?: OpenedNotes,
): string {
  return [
    `review ${status.reviewId}: ${status.templateId} on ${status.sellerId}'s ${status.dataset}, proposed by ${status.proposerId}`,
    `stage: ${status.stage}${status.stage === 'open' || status.stage === 'changes_requested' ? ` (expires ${when(status.expiresAt)})` : ''}`,
    ...(status.approvedTemplateHash ? [`approved template: ${status.approvedTemplateHash}`] : []),
    ...status.revisions.flatMap((r) => [
      `revision ${r.revision} (${r.draftHash}, ${when(r.at)}): sealed draft ${r.draftRef}`,
      ...previewLines(r.preview, problems.get(r.revision), opened?.issues.get(r.revision)),
    ]),
    ...status.comments.map(
      (c, i) => `${c.by} on revision ${c.revision}, ${c.kind}: ${opened?.comments.get(i) ?? c.message}`,
    ),
    ...(opened?.problems ?? []).map((problem) => `NOT OPENED: ${problem}`),
  ].join('\n');
}

export function formatDifferences(nearest: string | undefined, differences: FieldDifference[]): string {
  if (nearest === undefined) return 'no existing template of this seller to compare with';
  if (differences.length === 0) return `same as ${nearest} in every field the catalog shows`;
  return [
    `differs from ${nearest} in:`,
    ...differences.map(
      (d) => `  ${d.field}:\n    - ${JSON.stringify(d.existing)}\n    + ${JSON.stringify(d.draft)}`,
    ),
  ].join('\n');
}
