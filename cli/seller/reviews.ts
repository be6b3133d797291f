import type { Command } from 'commander';
import { explainTemplate } from '../../query-policies/explain';
import { signTemplate } from '../../query-policies/signature';
import { differsBeyondSellerChoices, nearestTemplate } from '../../query-policies/template-diff';
import type { QueryTemplate } from '../../query-policies/template';
import type { ReviewDecisionContent, TemplateReviewStatus } from '../../workflows/template-review/shapes';
import { catalog } from '../buyer/buy';
import { formatTable } from '../../lib/format-table';
import {
  CliError,
  home,
  keyPaths,
  partyClient,
  print,
  readText,
  withPartyOptions,
  type PartyOptions,
} from '../common';
import { previewProblems } from '../template/preview-check';
import { formatDifferences, formatReview } from '../template/review-format';
import { publicKeyFromPem } from '../../lib/x25519-public';
import {
  openRevisionAsSeller,
  signedReplyKey,
  perimeterStateDir,
  sealingKeyPem,
} from '../template/sealed-drafts';
import { openNotes, sealNote } from '../template/sealed-notes';

/** `perimeterState`: the perimeter's state directory, where its sealing key opens proposed drafts. */
type Options = PartyOptions & { json?: boolean; perimeterState?: string };

const reviewPath = (reviewId: string) => `/template-reviews/${reviewId}`;
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

async function listReviews(options: Options): Promise<void> {
  const { reviews } = await (
    await partyClient(options)
  ).get<{ reviews: TemplateReviewStatus[] }>('/template-reviews');
  print(options.json, reviews, () =>
    formatTable(
      ['review', 'template', 'dataset', 'proposer', 'stage', 'expires'],
      reviews.map((r) => [
        r.reviewId,
        r.templateId,
        r.dataset,
        r.proposerId,
        r.stage,
        new Date(r.expiresAt).toISOString(),
      ]),
    ),
  );
}

/** The proposal, with its current draft compared to the nearest template this seller sells. */
async function show(reviewId: string, options: Options): Promise<void> {
  const client = await partyClient(options);
  const status = await client.get<TemplateReviewStatus>(reviewPath(reviewId));
  const draft = await openRevisionAsSeller(
    client,
    status,
    status.revisions.at(-1)!,
    perimeterStateDir(options, client.partyId),
  );
  const own = (await catalog(client)).filter((t) => t.seller === status.sellerId) as unknown as Record<
    string,
    unknown
  >[];
  // The catalog shows metrics by name and aggregate, and the privacy it computes: compare like with like.
  const { privacy: _privacy, ...comparable } = {
    ...draft,
    metrics: draft.metrics.map(({ name, aggregate }) => ({ name, aggregate })),
  };
  const nearest = nearestTemplate(comparable, own);
  const problems = await previewProblems(client, status);
  const key = await sealingKeyPem(perimeterStateDir(options, client.partyId));
  const notes = await openNotes(client, status, 'perimeter', key);
  const opened = { comments: Object.fromEntries(notes.comments), issues: Object.fromEntries(notes.issues) };
  print(options.json, { status, draft, nearest, opened }, () =>
    [
      formatReview(status, problems, notes),
      '',
      `the draft (revision ${status.revisions.at(-1)!.revision}, opened with your perimeter's key):`,
      explainTemplate(draft),
      '',
      `SQL: ${draft.sql}`,
      '',
      formatDifferences(nearest?.template.id as string | undefined, nearest?.differences ?? []),
    ].join('\n'),
  );
}

async function decide(reviewId: string, content: ReviewDecisionContent, options: Options): Promise<void> {
  const client = await partyClient(options);
  const proof = await client.decide(reviewPath(reviewId), 'template_review', content, reviewId);
  const status = await client.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/decisions`, {
    content,
    proof,
  });
  print(options.json, status, () => formatReview(status));
}

/**
 * Decides on the current revision, which the seller has read (its number is part of what it signs).
 * The text is sealed to the proposer's reply key (from the draft it signed) and to the perimeter's own
 * sealing key, so the seller reads it again later; the decision carries its reference and hash.
 */
const onCurrent =
  (decision: 'comment' | 'request_changes' | 'reject') =>
  async (reviewId: string, message: string, options: Options) => {
    const client = await partyClient(options);
    const status = await client.get<TemplateReviewStatus>(reviewPath(reviewId));
    const current = status.revisions.at(-1)!;
    const key = await sealingKeyPem(perimeterStateDir(options, client.partyId));
    const replyKey = await signedReplyKey(client, status, key);
    if (!replyKey)
      process.stderr.write(
        `no revision of ${reviewId} opens with a reply key ${status.proposerId} signed: only you will read this ${decision}\n`,
      );
    const note = await sealNote(
      client,
      { reviewId, revision: current.revision },
      { kind: decision, message },
      { perimeter: publicKeyFromPem(key), ...(replyKey ? { proposer: replyKey } : {}) },
    );
    await decide(reviewId, { decision, revision: current.revision, note }, options);
  };

async function setDeadline(reviewId: string, at: string, options: Options): Promise<void> {
  const expiresAt = Date.parse(at);
  if (!Number.isFinite(expiresAt))
    throw new CliError(`not a date: ${at} (write e.g. 2027-01-31T12:00:00Z)`, 2);
  await decide(reviewId, { decision: 'set_deadline', expiresAt }, options);
}

interface ApproveOptions extends Options {
  price?: string;
  jurisdictions?: string;
  purposes?: string;
  dataClasses?: string;
}

/** Approving is signing: the current draft, with the seller's price and allowed uses, naming the review. */
async function approve(reviewId: string, options: ApproveOptions): Promise<void> {
  const client = await partyClient(options);
  const status = await client.get<TemplateReviewStatus>(reviewPath(reviewId));
  const current = status.revisions.at(-1)!;
  const { revision } = current;
  const draft = await openRevisionAsSeller(
    client,
    status,
    current,
    perimeterStateDir(options, client.partyId),
  );
  // The seller signs only a draft its own perimeter previewed: a preview made up by whoever
  // completes the activity is refused here, before any signature.
  const problem = (await previewProblems(client, status)).get(revision);
  if (problem) throw new CliError(`not approving revision ${revision} of ${reviewId}: ${problem}`, 1);
  const template: QueryTemplate = {
    ...draft,
    price: options.price ?? draft.price,
    compliance: {
      jurisdictions: options.jurisdictions ? list(options.jurisdictions) : draft.compliance.jurisdictions,
      purposes: options.purposes ? list(options.purposes) : draft.compliance.purposes,
      dataClasses: options.dataClasses ? list(options.dataClasses) : draft.compliance.dataClasses,
    },
    review: { reviewId },
  };
  if (differsBeyondSellerChoices(template, draft))
    throw new CliError('the template to sign differs from the draft beyond its price and allowed uses', 1);
  const key = await readText(keyPaths(home(options.home), client.partyId).signing, 'signing key');
  const approved = await client.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/approval`, {
    template,
    signature: signTemplate(template, key),
  });
  print(
    options.json,
    approved,
    () => `${formatReview(approved)}\nin the catalog as ${template.id}: buyers can buy it now`,
  );
}

const PERIMETER_STATE_HELP =
  "your perimeter's state directory, whose sealing key opens proposed drafts (default: $TUSK_PERIMETER_STATE_DIR, else $TUSK_HOME/perimeter/<seller>)";

/** `tusk seller review ...`: the proposals buyers made to this seller. */
export function addReviewCommands(seller: Command): void {
  const review = seller
    .command('review')
    .description("review buyers' template proposals: comment, ask for changes, reject or approve");
  withPartyOptions(review.command('list').description('proposals made to you'))
    .option('--json', 'print JSON')
    .action(listReviews);
  withPartyOptions(
    review
      .command('show <reviewId>')
      .description(
        'a proposal: its sealed draft opened with your perimeter key, its previews, and how it differs from your nearest template',
      ),
  )
    .option('--perimeter-state <dir>', PERIMETER_STATE_HELP)
    .option('--json', 'print JSON')
    .action(show);
  const message = (name: string, what: string, decision: 'comment' | 'request_changes' | 'reject') =>
    withPartyOptions(review.command(`${name} <reviewId> <message>`).description(what))
      .option('--perimeter-state <dir>', PERIMETER_STATE_HELP)
      .option('--json', 'print JSON')
      .action(onCurrent(decision));
  message('comment', 'comment on the current revision (sealed to you and the proposer, signed)', 'comment');
  message(
    'request-changes',
    'ask the proposer to revise (sealed to you and the proposer, signed)',
    'request_changes',
  );
  message(
    'reject',
    'reject the proposal with a reason (sealed to you and the proposer, signed); it ends',
    'reject',
  );
  withPartyOptions(
    review
      .command('deadline <reviewId> <when>')
      .description('set when the open proposal expires (an ISO date, signed)'),
  )
    .option('--json', 'print JSON')
    .action(setDeadline);
  withPartyOptions(
    review
      .command('approve <reviewId>')
      .description(
        'sign the current draft as your template, with your price and allowed uses; it enters the catalog',
      ),
  )
    .option('--price <units>', "the price, in smallest units (default: the proposer's suggestion)")
    .option('--jurisdictions <codes>', 'allowed jurisdictions, comma-separated (default: as proposed)')
    .option('--purposes <tags>', 'allowed purposes, comma-separated (default: as proposed)')
    .option(
      '--data-classes <tags>',
      'data classes a buyer must accept, comma-separated (default: as proposed)',
    )
    .option('--perimeter-state <dir>', PERIMETER_STATE_HELP)
    .option('--json', 'print JSON')
    .action(approve);
}
