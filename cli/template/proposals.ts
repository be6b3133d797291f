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
  writeFileAtomic,
  type PartyOptions,
} from '../common';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { explainTemplate } from '../../query-policies/explain';
import { previewProblems } from './preview-check';
import { formatReview } from './review-format';
import { openSignedRevision, sealedRevision } from './sealed-drafts';
import { openNotes } from './sealed-notes';

type Options = PartyOptions & { json?: boolean };

const reviewPath = (reviewId: string) => `/template-reviews/${reviewId}`;

async function signedRevision(file: string, reviewId: string, revision: number, options: Options) {
  const draft = await readTemplateFile(file).catch((error: Error) => {
    throw new CliError(error instanceof TemplateFileError ? error.message : String(error));
  });
  const client = await partyClient(options);
  const paths = keyPaths(home(options.home), client.partyId);
  const signingKeyPem = await readText(paths.signing, 'signing key');
  // Sealed to the proposer's own X25519 key too (its result key, made here if it has none), so it
  // reads back what it sent, and the seller's comments and the perimeter's lint problems reach it.
  const resultKeyPem = await readFile(paths.result, 'utf8').catch(async () => {
    const made = generateX25519KeyPair();
    await writeFileAtomic(paths.result, made.privateKeyPem, 0o600);
    process.stderr.write(`made your reply key (X25519) at ${paths.result}\n`);
    return made.privateKeyPem;
  });
  const body = await sealedRevision(
    client,
    { reviewId, revision, proposer: client.partyId, draft },
    { signingKeyPem, resultKeyPem },
  );
  return { client, body };
}

const propose =
  (role: ProposerRole) =>
  async (file: string, options: Options & { reviewId?: string }): Promise<void> => {
    const reviewId = options.reviewId ?? `review-${crypto.randomUUID()}`;
    const { client, body } = await signedRevision(file, reviewId, 1, options);
    const status = await client.post<TemplateReviewStatus>('/template-reviews', body);
    print(
      options.json,
      status,
      () => `${formatReview(status)}\n(follow it: tusk ${role} template status ${reviewId} --show)`,
    );
  };

async function revise(reviewId: string, file: string, options: Options): Promise<void> {
  const current = await (await partyClient(options)).get<TemplateReviewStatus>(reviewPath(reviewId));
  const next = current.revisions.at(-1)!.revision + 1;
  const { client, body } = await signedRevision(file, reviewId, next, options);
  const status = await client.post<TemplateReviewStatus>(`${reviewPath(reviewId)}/revisions`, body);
  print(options.json, status, () => formatReview(status));
}

/** The proposer's reply key: it opens the proposer's own copy of each draft and the notes sealed to it. */
async function replyKeyPem(options: Options, partyId: string): Promise<string> {
  const path = keyPaths(home(options.home), partyId).result;
  return readFile(path, 'utf8').catch(() => {
    throw new CliError(
      `no reply key at ${path}: it is made when you propose; without it nothing sealed to you opens here`,
      1,
    );
  });
}

/** With --show: the current draft from the proposer's own sealed copy, and the seller's comments and lint problems opened. */
async function status(reviewId: string, options: Options & { show?: boolean }): Promise<void> {
  const client = await partyClient(options);
  const status = await client.get<TemplateReviewStatus>(reviewPath(reviewId));
  const problems = await previewProblems(client, status);
  if (!options.show) return print(options.json, status, () => formatReview(status, problems));
  const key = await replyKeyPem(options, client.partyId);
  const current = status.revisions.at(-1)!;
  const { draft } = await openSignedRevision(client, status, current, 'proposer', key);
  const notes = await openNotes(client, status, 'proposer', key);
  const opened = { comments: Object.fromEntries(notes.comments), issues: Object.fromEntries(notes.issues) };
  print(options.json, { status, draft, opened }, () =>
    [
      formatReview(status, problems, notes),
      '',
      `your draft (revision ${current.revision}, opened with your reply key):`,
      explainTemplate(draft),
      '',
      `SQL: ${draft.sql}`,
    ].join('\n'),
  );
}

type ProposerRole = 'buyer' | 'sponsor';

/** `tusk buyer|sponsor template propose|revise|status`: the template proposals a buyer or a sponsor makes. */
export function addTemplateProposalCommands(parent: Command, role: ProposerRole): void {
  const template = parent
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
    .action(propose(role));
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
    .option(
      '--show',
      'open your own sealed copy of the draft, and the comments and lint problems sealed to you',
    )
    .option('--json', 'print JSON')
    .action(status);
}
