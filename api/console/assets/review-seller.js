// @ts-check
/**
 * The seller's side of template reviews: the proposals made to it, one with its previews, its draft
 * opened here with the perimeter's sealing key, and the seller's signed decisions (comment, request
 * changes, reject) and approval (the template signed with the price and allowed uses it chooses).
 */
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';
import { nearestTemplateView } from './review-diff.js';
import { openSignedRevision, operatorKeyOf, previewProblems, signTemplate } from './review-drafts.js';
import { sealNote } from './review-notes.js';
import { registeredKeyOf } from './release-check.js';
import { reviewPath, reviewView } from './reviews.js';
import { importKeyFile, signDecision } from './tusk-crypto.js';

/**
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {import('./review-drafts.js').ReviewStatus} ReviewStatus
 * @typedef {import('./review-drafts.js').DraftToSign} DraftToSign
 */

/** The perimeter's sealing key, held in this page's memory (non-extractable) once loaded. */
/** @type {{ sealing: HeldKey | undefined }} */
const held = { sealing: undefined };

const list = (/** @type {string} */ text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The draft as the seller reads it: its SQL, then every field as text. @param {Record<string, any>} draft */
function draftView(draft) {
  const json = (/** @type {unknown} */ v) => (v === undefined ? '' : JSON.stringify(v));
  return el('section', { 'aria-label': 'the draft', id: 'draft' }, [
    el('h4', {}, ["The draft, opened here with your perimeter's sealing key"]),
    el('pre', { id: 'draft-sql' }, [draft.sql]),
    table(
      ['Field', 'Proposed'],
      [
        ['Title', draft.title],
        ['Description', draft.description],
        ['Parameters', json(draft.parameters)],
        ['Constraints', json(draft.constraints)],
        ['Dimensions', json(draft.dimensions)],
        ['Metrics', json(draft.metrics)],
        ['Privacy unit', draft.privacyUnit],
        ['Most groups per unit', draft.maxGroupsPerUnit],
        ['Minimum cohort size k', draft.minCohortSize],
        ['Privacy', json(draft.privacy)],
        ['Group domain', json(draft.groupDomain)],
        ['Declared use', json(draft.compliance)],
        ['Suggested price', draft.price],
      ],
    ),
  ]);
}

/** Why the SQL is not shown: where the key is, and what the API holds instead. @param {import('./review-drafts.js').Revision} revision */
const sealedNotice = (revision) =>
  message(
    "The draft is sealed to your perimeter's sealing key and the proposer's key: the API and the operator " +
      `hold only its reference (${revision.draftRef}) and signed hash (${revision.draftHash}). ` +
      "Load perimeter-sealing.x25519.pem from your perimeter's state directory above to read it here.",
  );

/**
 * The seller's signed answer without approving: over the review's scope, for the current revision.
 * @param {Client} client @param {ReviewStatus} status @param {Record<string, unknown>} content
 */
async function decide(client, status, content) {
  if (status.scope?.subject?.id !== status.reviewId)
    throw new Error(
      `the status is about ${status.scope?.subject?.id}, not ${status.reviewId}: refusing to sign`,
    );
  const proof = await signDecision(
    client.signingKey.privateKey,
    status.scope,
    'template_review',
    client.partyId,
    content,
  );
  return client.post(`${reviewPath(status.reviewId)}/decisions`, { content, proof });
}

/**
 * The reply key the proposer signed with its newest revision that opens and checks (the CLI's
 * signedReplyKey): a revision whose sealed draft was swapped must still be answerable (rejected, say).
 * @param {Client} client @param {ReviewStatus} status @param {HeldKey} sealing
 */
async function newestReplyKey(client, status, sealing) {
  for (const revision of [...status.revisions].reverse()) {
    const opened = await openSignedRevision(client, status, revision, 'perimeter', sealing).catch(
      () => undefined,
    );
    if (opened) return opened.replyKey;
  }
  return undefined;
}

/**
 * The seller's text on the current revision, sealed here to its perimeter's sealing key (so it reads
 * it again) and to the proposer's signed reply key (so the proposer reads it): the decision carries
 * only the blob's reference and the note's hash, as `tusk seller review` sends it.
 * @param {Client} client @param {ReviewStatus} status @param {string | undefined} replyKey
 * @param {'comment' | 'request_changes' | 'reject'} decision @param {string} text
 */
async function decideSealed(client, status, replyKey, decision, text) {
  if (!held.sealing)
    throw new Error(
      "Load your perimeter's sealing key above: your message is sealed to it and to the proposer's reply key, never sent in clear.",
    );
  const revision = status.revisions[status.revisions.length - 1].revision;
  const note = await sealNote(client, { reviewId: status.reviewId, revision }, decision, text, {
    perimeter: held.sealing.publicKey,
    ...(replyKey ? { proposer: replyKey } : {}),
  });
  return decide(client, status, { decision, revision, note });
}

/** @param {string} id @param {string} label @param {string} value */
const input = (id, label, value) =>
  el('div', { class: 'field' }, [el('label', { for: id }, [label]), el('input', { id, value })]);

/**
 * Comment, request changes, reject (a message each), and approve (price and allowed uses): each
 * signed here. Approval needs the draft opened and its preview verified.
 * @param {Client} client @param {ReviewStatus} status @param {DraftToSign | undefined} signed
 * @param {string | undefined} replyKey @param {string | undefined} previewProblem
 * @param {(status: ReviewStatus) => void} shown
 */
function decisionForms(client, status, signed, replyKey, previewProblem, shown) {
  const draft = signed?.draft;
  const current = status.revisions[status.revisions.length - 1];
  const revision = status.revisions[status.revisions.length - 1].revision;
  const result = el('div', { 'aria-live': 'polite', id: 'decision-status' });
  const text = /** @type {HTMLTextAreaElement} */ (el('textarea', { id: 'review-message', rows: '3' }));
  const act = (/** @type {Promise<ReviewStatus>} */ done) =>
    void done.then(shown, (error) => replace(result, message(explain(error), 'error')));
  const button = (/** @type {string} */ label, /** @type {string} */ decision) => {
    const b = el('button', { type: 'button' }, [label]);
    b.addEventListener('click', () => {
      if (!text.value.trim()) return replace(result, message('Write a message first.', 'error'));
      act(decideSealed(client, status, replyKey, /** @type {any} */ (decision), text.value.trim()));
    });
    return b;
  };
  const messages = el('form', { 'aria-label': 'comment or decide' }, [
    el('label', { for: 'review-message' }, [`Message on revision ${revision}`]),
    held.sealing && !replyKey
      ? message(
          `No revision opens with a reply key ${status.proposerId} signed: only you will read what you write here.`,
        )
      : '',
    text,
    button('Comment', 'comment'),
    button('Request changes', 'request_changes'),
    button('Reject', 'reject'),
  ]);
  const deadline = /** @type {HTMLInputElement} */ (
    el('input', { id: 'review-deadline', type: 'datetime-local' })
  );
  const moveDeadline = el('button', { type: 'button' }, ['Set the deadline']);
  moveDeadline.addEventListener('click', () => {
    const expiresAt = Date.parse(deadline.value);
    if (!Number.isFinite(expiresAt))
      return replace(result, message('Choose a date and time first.', 'error'));
    act(decide(client, status, { decision: 'set_deadline', expiresAt }));
  });
  const deadlineForm = el('form', { 'aria-label': 'deadline' }, [
    el('label', { for: 'review-deadline' }, ['The proposal expires at (your local time)']),
    deadline,
    moveDeadline,
  ]);
  // No approval without a draft opened here and a preview of the perimeter's.
  if (!draft || current.preview?.kind !== 'previewed') return el('div', {}, [messages, deadlineForm, result]);
  const approve = el('form', { 'aria-label': 'approve' }, [
    input('approve-price', 'Price (smallest units)', draft.price),
    input('approve-jurisdictions', 'Allowed jurisdictions', draft.compliance.jurisdictions.join(', ')),
    input('approve-purposes', 'Allowed purposes', draft.compliance.purposes.join(', ')),
    input('approve-data-classes', 'Data classes a buyer accepts', draft.compliance.dataClasses.join(', ')),
    el('button', { type: 'submit' }, [`Approve: sign revision ${revision} as my template`]),
  ]);
  approve.addEventListener('submit', (event) => {
    event.preventDefault();
    // The seller signs only a draft its own perimeter previewed (a made-up preview is refused here).
    if (previewProblem)
      return replace(result, message(`Not approving revision ${revision}: ${previewProblem}`, 'error'));
    const value = (/** @type {string} */ id) =>
      /** @type {HTMLInputElement} */ (approve.querySelector(`#${id}`)).value;
    const template = {
      ...draft,
      price: value('approve-price').trim(),
      compliance: {
        jurisdictions: list(value('approve-jurisdictions')),
        purposes: list(value('approve-purposes')),
        dataClasses: list(value('approve-data-classes')),
      },
      review: { reviewId: status.reviewId },
    };
    act(
      signTemplate(client, template).then((signature) =>
        client.post(`${reviewPath(status.reviewId)}/approval`, { template, signature }),
      ),
    );
  });
  return el('div', {}, [messages, deadlineForm, approve, result]);
}

/**
 * One proposal: its status and previews, the current draft (opened when the sealing key is held),
 * and what the seller may do while it is open.
 * @param {Client} client @param {string} reviewId @param {HTMLElement} panel
 */
async function showReview(client, reviewId, panel) {
  /** @type {ReviewStatus} */
  const status = await client.get(reviewPath(reviewId));
  const current = status.revisions[status.revisions.length - 1];
  /** @type {DraftToSign | undefined} */
  let signed;
  let draftPart;
  if (!held.sealing) draftPart = sealedNotice(current);
  else
    try {
      signed = await openSignedRevision(client, status, current, 'perimeter', held.sealing);
      const { draft } = signed;
      const nearest = await nearestTemplateView(client, draft, status.sellerId).catch((error) =>
        message(explain(error), 'error'),
      );
      draftPart = el('div', {}, [draftView(draft), nearest]);
    } catch (error) {
      draftPart = message(explain(error), 'error');
    }
  const previewProblem =
    current.preview?.kind === 'previewed'
      ? (await previewProblems(client, status).catch((e) => new Map([[current.revision, explain(e)]]))).get(
          current.revision,
        )
      : `revision ${current.revision} has ${current.preview ? 'a refused preview' : 'no preview yet'}`;
  const replyKey =
    signed?.replyKey ??
    (held.sealing && !signed ? await newestReplyKey(client, status, held.sealing) : undefined);
  const names = (signed?.draft.metrics ?? []).map((/** @type {{ name: string }} */ m) => m.name);
  const open = status.stage === 'open' || status.stage === 'changes_requested';
  const shown = () =>
    void showReview(client, reviewId, panel).catch((e) => replace(panel, message(explain(e), 'error')));
  replace(
    panel,
    await reviewView(client, status, names, { reader: 'perimeter', key: held.sealing }),
    draftPart,
    open ? decisionForms(client, status, signed, replyKey, previewProblem, shown) : '',
    status.approvedTemplateHash ? message(`Approved and in the catalog as ${status.templateId}.`) : '',
  );
}

/**
 * Whether the loaded key is the one proposers seal to: the log's `perimeter-sealing` key for this seller.
 * @param {Client} client @param {HeldKey} key
 */
async function sealingKeyNotice(client, key) {
  const logged = await registeredKeyOf(
    client,
    client.partyId,
    await operatorKeyOf(client),
    'perimeter-sealing',
  );
  if (logged === key.publicKey)
    return message(
      `Perimeter sealing key loaded (public key ${key.publicKey}, the one the transparency log registers).`,
    );
  return message(
    `Perimeter sealing key loaded (public key ${key.publicKey}), but the transparency log registers ` +
      `${logged ?? 'no sealing key'} for your perimeter: proposers seal to that one, so this key opens none of their drafts.`,
    'error',
  );
}

/**
 * The seller's reviews: the sealing key, its proposals, one open.
 * @param {Client} client @param {HTMLElement} root
 */
export async function showReviews(client, root) {
  const panel = el('section', { id: 'review-panel', 'aria-live': 'polite' });
  const keyStatus = el('div', { 'aria-live': 'polite' });
  const keyInput = /** @type {HTMLInputElement} */ (
    el('input', { id: 'sealing-key', type: 'file', accept: '.pem' })
  );
  keyInput.addEventListener('change', () => {
    const file = keyInput.files?.[0];
    if (!file) return;
    file
      .text()
      .then((pem) => importKeyFile(pem, 'X25519'))
      .then(async (key) => {
        held.sealing = key;
        return sealingKeyNotice(client, key);
      })
      .then(
        (notice) => replace(keyStatus, notice),
        (error) => replace(keyStatus, message(explain(error), 'error')),
      );
  });
  const { reviews } = await client.get('/template-reviews');
  const rows = reviews
    .filter((/** @type {ReviewStatus} */ r) => r.sellerId === client.partyId)
    .map((/** @type {ReviewStatus} */ r) => {
      const open = el('button', { type: 'button' }, ['Open']);
      open.addEventListener(
        'click',
        () =>
          void showReview(client, r.reviewId, panel).catch((error) =>
            replace(panel, message(explain(error), 'error')),
          ),
      );
      return el('tr', { 'data-review': r.reviewId }, [
        ...[
          r.reviewId,
          r.templateId,
          r.dataset,
          r.proposerId,
          r.stage,
          new Date(r.expiresAt).toLocaleString(),
        ].map((cell) => el('td', {}, [cell])),
        el('td', {}, [open]),
      ]);
    });
  const head = el(
    'tr',
    {},
    ['Review', 'Template', 'Dataset', 'Proposer', 'Stage', 'Expires', ''].map((h) =>
      el('th', { scope: 'col' }, [h]),
    ),
  );
  replace(
    root,
    el('h2', {}, ['Template proposals']),
    el('div', { class: 'field' }, [
      el('label', { for: 'sealing-key' }, [
        "Perimeter sealing key (perimeter-sealing.x25519.pem in your perimeter's state directory; kept in this page)",
      ]),
      keyInput,
    ]),
    keyStatus,
    el('table', { id: 'proposals' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    panel,
  );
}
