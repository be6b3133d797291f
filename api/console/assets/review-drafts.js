// @ts-check
/**
 * A proposed template's draft in the page, as the CLI handles it (query-policies/sealed-draft.ts,
 * query-policies/draft-signature.ts, cli/template/sealed-drafts.ts): sealed here to the seller's
 * perimeter sealing key (from the transparency log, under the pinned operator key) and to the
 * proposer's own result key; only its blob reference and signed hash go to the API. The seller opens
 * it here with its perimeter's sealing key and checks it is what the proposer signed.
 */
import { registeredKeyOf, verifyEd25519 } from './release-check.js';
import { base64url, canonicalHash, fromBase64, openSealedBox, sealBox, signText } from './tusk-crypto.js';

/**
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {{ reviewId: string, revision: number, proposer: string, draft: Record<string, any>,
 *   replyKey?: string }} DraftToSign
 * @typedef {{ revision: number, draftRef: string, draftHash: string, signature: string, at: number,
 *   preview?: any }} Revision
 * @typedef {{ reviewId: string, sellerId: string, proposerId: string, dataset: string, templateId: string,
 *   stage: string, expiresAt: number, scope: any, revisions: Revision[], approvedTemplateHash?: string,
 *   comments: { at: number, by: string, revision: number, kind: string, message: string,
 *     note?: { ref: string, hash: string } }[] }} ReviewStatus
 */

const encoder = new TextEncoder();
/** The box's associated data: a box sealed for one review cannot be passed off as another's. */
const boxContext = (/** @type {string} */ reviewId) => `tusk template draft v1 ${reviewId}`;
const draftMessage = (/** @type {string} */ hash) => `tusk template draft v1\n${hash}`;

/** What a proposer's signature covers (draft-signature.ts's draftHashOf), its reply key included. @param {DraftToSign} toSign */
export const draftHashOf = ({ reviewId, revision, proposer, draft, replyKey }) =>
  canonicalHash({ reviewId, revision, proposer, draft, ...(replyKey === undefined ? {} : { replyKey }) });

/** The operator's log key: the one pinned in the page, else (as the CLI without a pin) the API's. @param {Client} client */
export async function operatorKeyOf(client) {
  return client.operatorKey || (await client.get('/operator/key')).publicKey;
}

/**
 * One revision as it is sent: sealed here, stored as a blob, its hash signed. The plaintext never
 * leaves the page; the API gets the reference and the signature.
 * @param {Client} client @param {DraftToSign} unsigned @param {HeldKey | undefined} resultKey
 */
export async function sealedRevision(client, unsigned, resultKey) {
  // The proposer's reply key rides in the signed draft (as the CLI's sealAndSign puts it): the
  // perimeter seals a refused preview's lint problems to it, the seller its comments.
  /** @type {DraftToSign} */
  const toSign = resultKey ? { ...unsigned, replyKey: resultKey.publicKey } : unsigned;
  const { draft } = toSign;
  const perimeter = await registeredKeyOf(
    client,
    draft.seller,
    await operatorKeyOf(client),
    'perimeter-sealing',
  );
  if (!perimeter)
    throw new Error(
      `seller ${draft.seller} has no perimeter sealing key in the transparency log: nothing can be proposed ` +
        'to it until its operator registers it (tusk operator party add --perimeter-sealing-key)',
    );
  const plaintext = encoder.encode(JSON.stringify(toSign));
  const box = async (/** @type {string} */ key) =>
    base64url(await sealBox(plaintext, key, boxContext(toSign.reviewId)));
  const file = {
    type: 'tusk.sealed-draft/v1',
    perimeter: await box(perimeter),
    ...(resultKey ? { proposer: await box(resultKey.publicKey) } : {}),
  };
  const { ref } = await client.putBlob(JSON.stringify(file));
  const draftHash = await draftHashOf(toSign);
  return {
    reviewId: toSign.reviewId,
    revision: toSign.revision,
    proposer: toSign.proposer,
    seller: draft.seller,
    dataset: draft.dataset,
    templateId: draft.id,
    draftRef: ref,
    draftHash,
    signature: await signText(client.signingKey.privateKey, draftMessage(draftHash)),
  };
}

/**
 * Opens one revision's sealed draft with a reader's X25519 key and checks it: its hash is the signed
 * one, it names the review's routing fields, and the proposer's registered key signed it.
 * @param {Client} client @param {ReviewStatus} status @param {Revision} revision
 * @param {'perimeter' | 'proposer'} reader @param {HeldKey} key
 * @returns {Promise<Record<string, any>>} the draft template
 */
export async function openRevision(client, status, revision, reader, key) {
  return (await openSignedRevision(client, status, revision, reader, key)).draft;
}

/**
 * openRevision's checked draft with what the proposer signed around it: its reply key, which the
 * seller seals its comments to.
 * @param {Client} client @param {ReviewStatus} status @param {Revision} revision
 * @param {'perimeter' | 'proposer'} reader @param {HeldKey} key @returns {Promise<DraftToSign>}
 */
export async function openSignedRevision(client, status, revision, reader, key) {
  const { sealed } = await client.get(
    `/template-reviews/${encodeURIComponent(status.reviewId)}/revisions/${revision.revision}/draft`,
  );
  const file = JSON.parse(new TextDecoder().decode(fromBase64(sealed)));
  if (file?.type !== 'tusk.sealed-draft/v1') throw new Error('the blob is not a sealed draft');
  if (typeof file[reader] !== 'string') throw new Error(`the draft is not sealed to its ${reader}`);
  const bytes = await openSealedBox(fromBase64(file[reader]), key, boxContext(status.reviewId)).catch(() => {
    throw new Error(
      `revision ${revision.revision} does not open with this ${reader} key (another key, or another review's box)`,
    );
  });
  /** @type {DraftToSign} */
  const opened = JSON.parse(new TextDecoder().decode(bytes));
  const problem = await openedDraftProblem(client, status, revision, opened);
  if (problem) throw new Error(`revision ${revision.revision}: ${problem}`);
  return opened;
}

/** draft-signature.ts's draftSignatureProblem, with the proposer's key from the log. */
async function openedDraftProblem(
  /** @type {Client} */ client,
  /** @type {ReviewStatus} */ status,
  /** @type {Revision} */ revision,
  /** @type {DraftToSign} */ opened,
) {
  const hash = await draftHashOf(opened);
  if (hash !== revision.draftHash)
    return `the sealed draft is not the signed one (its hash is ${hash}, the proposer signed ${revision.draftHash})`;
  const mismatch = [
    ['review', opened.reviewId, status.reviewId],
    ['revision', opened.revision, revision.revision],
    ['proposer', opened.proposer, status.proposerId],
    ['seller', opened.draft?.seller, status.sellerId],
    ['dataset', opened.draft?.dataset, status.dataset],
    ['template id', opened.draft?.id, status.templateId],
  ].find(([, inDraft, routed]) => inDraft !== routed);
  if (mismatch) return `the sealed draft names ${mismatch[0]} ${mismatch[1]}, not ${mismatch[2]}`;
  const proposerKey = await registeredKeyOf(client, status.proposerId, await operatorKeyOf(client), 'party');
  if (!proposerKey) return `the transparency log registers no key for ${status.proposerId}`;
  return (await verifyEd25519(proposerKey, draftMessage(hash), revision.signature))
    ? ''
    : `the draft is not signed by ${status.proposerId}'s registered key`;
}

/**
 * Why each revision's preview is not the seller's perimeter's (draft-signature.ts's
 * previewSignatureProblem, under the perimeter key from the log), by revision; absent when it is.
 * @param {Client} client @param {ReviewStatus} status @returns {Promise<Map<number, string>>}
 */
export async function previewProblems(client, status) {
  const problems = new Map();
  const previewed = status.revisions.filter((r) => r.preview?.kind === 'previewed');
  if (previewed.length === 0) return problems;
  const key = await registeredKeyOf(client, status.sellerId, await operatorKeyOf(client), 'perimeter');
  for (const { revision, preview } of previewed) {
    const { perimeterSignature, ...rest } = preview;
    const message = `tusk draft preview v1\n${await canonicalHash(rest)}`;
    if (!key)
      problems.set(revision, `seller ${status.sellerId} has no perimeter key in the transparency log`);
    else if (!(await verifyEd25519(key, message, perimeterSignature)))
      problems.set(revision, "the preview is not signed by the seller's perimeter key");
  }
  return problems;
}

/**
 * The seller's signature over the template it approves (query-policies/signature.ts's signTemplate).
 * @param {Client} client @param {Record<string, any>} template
 */
export async function signTemplate(client, template) {
  const templateHash = await canonicalHash(template);
  return {
    templateId: template.id,
    templateHash,
    seller: template.seller,
    publicKey: client.signingKey.publicKey,
    signature: await signText(client.signingKey.privateKey, `tusk template v1\n${templateHash}`),
  };
}
