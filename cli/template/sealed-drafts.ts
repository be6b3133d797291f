import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { perimeterSealingKeyFile } from '../../lib/perimeter-key';
import { readPerimeterConfig, sellerWorkspace } from '../../lib/seller-workspace';
import { publicKeyFromPem } from '../../lib/x25519-public';
import { lintDraft } from '../../query-policies/draft-lint';
import { draftSignatureProblem, signDraft, type DraftToSign } from '../../query-policies/draft-signature';
import { lintFix } from '../../query-policies/lint-fixes';
import {
  openSealedDraft,
  sealDraft,
  SealedDraftError,
  type DraftReader,
} from '../../query-policies/sealed-draft';
import type { QueryTemplate } from '../../query-policies/template';
import type { SignedDraft, TemplateReviewStatus } from '../../workflows/template-review/shapes';
import { registeredKeyOf, type TuskClient } from '../../sdk';
import { logKeyOf } from '../buyer/release-acceptance';
import { CliError, home } from '../common';

/** The perimeter's lint, here, before anything leaves the proposer's machine. */
async function assertLints(draft: QueryTemplate): Promise<void> {
  const issues = await lintDraft(draft);
  if (issues.length > 0)
    throw new CliError(
      `the draft fails lint:\n${issues.map((i) => `  - ${i.code}: ${i.message} (fix: ${lintFix(i)})`).join('\n')}`,
      1,
    );
}

/**
 * One revision as it is sent: linted here, sealed to the seller's perimeter (its `perimeter-sealing`
 * key, from the transparency log under the pinned operator key) and to the proposer's own result key,
 * stored as a blob; what the API and Temporal get is the reference and the signed hash.
 */
export async function sealedRevision(
  client: TuskClient,
  toSign: DraftToSign,
  keys: { signingKeyPem: string; resultKeyPem?: string },
): Promise<SignedDraft> {
  await assertLints(toSign.draft);
  return sealAndSign(client, toSign, keys);
}

/** Sealing, storing and signing alone (the perimeter lints again whatever it is sent). */
export async function sealAndSign(
  client: TuskClient,
  toSign: DraftToSign,
  keys: { signingKeyPem: string; resultKeyPem?: string },
): Promise<SignedDraft> {
  // The proposer's reply key rides in the signed draft: the perimeter and the seller seal to it.
  const signedDraft: DraftToSign = keys.resultKeyPem
    ? { ...toSign, replyKey: publicKeyFromPem(keys.resultKeyPem) }
    : toSign;
  const { draft } = signedDraft;
  const perimeter = await registeredKeyOf(client, draft.seller, await logKeyOf(client), 'perimeter-sealing');
  if (!perimeter)
    throw new CliError(
      `seller ${draft.seller} has no perimeter sealing key in the transparency log: nothing can be proposed to it ` +
        'until its operator registers it (tusk operator party add --perimeter-sealing-key)',
      1,
    );
  const sealed = await sealDraft(signedDraft, {
    perimeter,
    ...(keys.resultKeyPem ? { proposer: publicKeyFromPem(keys.resultKeyPem) } : {}),
  });
  const draftRef = await client.putBlob(sealed);
  return {
    reviewId: toSign.reviewId,
    revision: toSign.revision,
    proposer: toSign.proposer,
    seller: draft.seller,
    dataset: draft.dataset,
    templateId: draft.id,
    draftRef,
    ...signDraft(signedDraft, keys.signingKeyPem),
  };
}

/**
 * Where the seller's CLI finds its perimeter's state directory (the seller runs the perimeter): the
 * option, else TUSK_PERIMETER_STATE_DIR, else the one its workspace's perimeter.json names (`tusk
 * seller init`), else where `tusk up` keeps it.
 */
export function perimeterStateDir(options: { home?: string; perimeterState?: string }, sellerId: string) {
  if (options.perimeterState) return options.perimeterState;
  if (process.env.TUSK_PERIMETER_STATE_DIR) return process.env.TUSK_PERIMETER_STATE_DIR;
  const workspace = sellerWorkspace(home(options.home), sellerId);
  const configured = existsSync(workspace.perimeterFile)
    ? readPerimeterConfig(workspace.perimeterFile).stateDir
    : undefined;
  return configured ?? join(home(options.home), 'perimeter', sellerId);
}

export async function sealingKeyPem(stateDir: string): Promise<string> {
  return readFile(perimeterSealingKeyFile(stateDir), 'utf8').catch(() => {
    throw new CliError(
      `no perimeter sealing key in ${stateDir}: point --perimeter-state at the directory your perimeter runs with`,
      1,
    );
  });
}

/**
 * The seller opens a revision's sealed draft with its perimeter's sealing key (the seller runs the
 * perimeter, so it reads its state directory), and checks it is what the proposer signed.
 */
export async function openRevisionAsSeller(
  client: TuskClient,
  status: TemplateReviewStatus,
  revision: TemplateReviewStatus['revisions'][number],
  stateDir: string,
): Promise<QueryTemplate> {
  return (await openSignedRevision(client, status, revision, 'perimeter', await sealingKeyPem(stateDir)))
    .draft;
}

/**
 * A revision's sealed draft opened by one of its readers (the seller with its perimeter's sealing key,
 * the proposer with its own reply key), checked against the hash and signature the review records,
 * under the proposer's key in the log. With it, the reply key its proposer signed.
 */
export async function openSignedRevision(
  client: TuskClient,
  status: TemplateReviewStatus,
  revision: TemplateReviewStatus['revisions'][number],
  reader: DraftReader,
  privateKeyPem: string,
): Promise<DraftToSign> {
  const { sealed } = await client.get<{ sealed: string }>(
    `/template-reviews/${status.reviewId}/revisions/${revision.revision}/draft`,
  );
  let opened: DraftToSign;
  try {
    opened = await openSealedDraft(Buffer.from(sealed, 'base64url'), reader, privateKeyPem, status.reviewId);
  } catch (error) {
    if (error instanceof SealedDraftError)
      throw new CliError(`revision ${revision.revision}: ${error.message}`, 1);
    throw error;
  }
  const signed: SignedDraft = {
    reviewId: status.reviewId,
    proposer: status.proposerId,
    seller: status.sellerId,
    dataset: status.dataset,
    templateId: status.templateId,
    revision: revision.revision,
    draftRef: revision.draftRef,
    draftHash: revision.draftHash,
    signature: revision.signature,
  };
  const proposerKey = await registeredKeyOf(client, status.proposerId, await logKeyOf(client), 'party');
  if (!proposerKey) throw new CliError(`the transparency log registers no key for ${status.proposerId}`, 1);
  const problem = draftSignatureProblem(opened, signed, proposerKey);
  if (problem) throw new CliError(`revision ${revision.revision}: ${problem}`, 1);
  return opened;
}

/**
 * The reply key the proposer signed with its newest revision that opens and checks: a revision whose
 * sealed draft was swapped or is unsigned must still be answerable (rejected, say).
 */
export async function signedReplyKey(
  client: TuskClient,
  status: TemplateReviewStatus,
  sealingKey: string,
): Promise<string | undefined> {
  for (const revision of [...status.revisions].reverse()) {
    const opened = await openSignedRevision(client, status, revision, 'perimeter', sealingKey).catch(
      (error: unknown) => {
        if (error instanceof CliError) return undefined;
        throw error;
      },
    );
    if (opened) return opened.replyKey;
  }
  return undefined;
}
