import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { readTemplateFile, TemplateFileError } from '../../query-policies/template-files';
import type { TemplateReviewStatus } from '../../workflows/template-review/shapes';
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
import { formatReview } from '../template/review-format';
import { sealedRevision } from '../template/sealed-drafts';

type Options = PartyOptions & { json?: boolean };

const reviewPath = (reviewId: string) => `/template-reviews/${reviewId}`;

async function signedRevision(file: string, reviewId: string, revision: number, options: Options) {
  const draft = await readTemplateFile(file).catch((error: Error) => {
    throw new CliError(error instanceof TemplateFileError ? error.message : String(error));
  });
  const client = await partyClient(options);
  const paths = keyPaths(home(options.home), client.partyId);
  const signingKeyPem = await readText(paths.signing, 'signing key');
  // Sealed to the proposer's own result key too, when it has one, so it can read back what it sent.
  const resultKeyPem = await readFile(paths.result, 'utf8').catch(() => undefined);
  const body = await sealedRevision(
    client,
    { reviewId, revision, proposer: client.partyId, draft },
    { signingKeyPem, ...(resultKeyPem ? { resultKeyPem } : {}) },
  );
  return { client, body };
}

async function propose(file: string, options: Options & { reviewId?: string }): Promise<void> {
  const reviewId = options.reviewId ?? `review-${crypto.randomUUID()}`;
  const { client, body } = await signedRevision(file, reviewId, 1, options);
  const status = await client.post<TemplateReviewStatus>('/template-reviews', body);
  print(
    options.json,
    status,
    () => `${formatReview(status)}\n(follow it: tusk buyer template status ${reviewId})`,
  );
}

async function revise(reviewId: string, file: string, options: Options): Promise<void> {
  const current = await (await partyClient(options)).get<TemplateReviewStatus>(reviewPath(reviewId));
  const next = current.revisions.at(-1)!.revision + 1;
  const { client, body } = await signedRevision(file, reviewId, next, options);
  const status = await client.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/revisions`, body);
  print(options.json, status, () => formatReview(status));
}

async function status(reviewId: string, options: Options): Promise<void> {
  const client = await partyClient(options);
  const status = await client.get<TemplateReviewStatus>(reviewPath(reviewId));
  const problems = await previewProblems(client, status);
  print(options.json, status, () => formatReview(status, problems));
}

/** `tusk buyer template propose|revise|status`: a buyer's (or sponsor's, with --as) template proposals. */
export function addTemplateProposalCommands(buyer: Command): void {
  const template = buyer
    .command('template')
    .description('propose templates to a seller, revise them, follow their review');
  withPartyOptions(
    template
      .command('propose <file>')
      .description(
        "lint a draft template (its SQL, parameters, metrics, declared use, suggested price), seal it to its seller's perimeter, sign it and send it; only the seller's perimeter reads it",
      ),
  )
    .option('--review-id <id>', 'the review id (default: a fresh one)')
    .option('--json', 'print JSON')
    .action(propose);
  withPartyOptions(
    template
      .command('revise <reviewId> <file>')
      .description('sign the next revision of the draft and send it'),
  )
    .option('--json', 'print JSON')
    .action(revise);
  withPartyOptions(
    template
      .command('status <reviewId>')
      .description('the proposal: its stage, every revision with its preview, the comments'),
  )
    .option('--json', 'print JSON')
    .action(status);
}
