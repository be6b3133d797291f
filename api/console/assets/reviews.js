// @ts-check
/**
 * Template reviews in the page (workflows/template-review/): a buyer proposes a draft and follows its
 * review; review-seller.js is the seller's side. Everything is rendered as text; the draft is sealed
 * and signed here (review-drafts.js), so its SQL never crosses the wire in clear.
 */
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';
import { openRevision, previewProblems, sealedRevision } from './review-drafts.js';
import { openNotes } from './review-notes.js';

/**
 * @typedef {import('./api.js').Client} Client
 * @typedef {import('./tusk-crypto.js').HeldKey} HeldKey
 * @typedef {import('./review-drafts.js').ReviewStatus} ReviewStatus
 * @typedef {import('./review-notes.js').OpenedNotes} OpenedNotes
 * @typedef {{ reader: 'perimeter' | 'proposer', key: HeldKey | undefined }} NoteReader
 */

const POLL_MS = 1000;
const POLL_TRIES = 180;
const OPEN_STAGES = ['open', 'changes_requested'];
const when = (/** @type {number} */ ms) => new Date(ms).toLocaleString();
export const reviewPath = (/** @type {string} */ id) => `/template-reviews/${encodeURIComponent(id)}`;

/** Where a sealed note opens, for a page without the key. @param {NoteReader | undefined} reader */
const sealedTo = (reader) =>
  reader?.reader === 'perimeter'
    ? "load your perimeter's sealing key above to read it"
    : 'load your result (X25519) key to read it';

/**
 * A refused preview's lint problems: in clear from runs before they were sealed, else opened here.
 * @param {any} preview @param {import('./review-notes.js').DraftIssue[] | undefined} opened
 * @param {NoteReader | undefined} reader
 */
function refusedIssues(preview, opened, reader) {
  /** @type {import('./review-notes.js').DraftIssue[] | undefined} */
  const issues = preview.sealedIssues ? opened : preview.issues;
  if (!issues)
    return message(
      `Its ${preview.sealedIssues.count} lint problem(s) are sealed to the seller's perimeter and to you: ${sealedTo(reader)}.`,
    );
  return table(
    ['Problem', 'What is wrong', 'How to fix it'],
    issues.map((i) => [i.code, i.message, i.fix]),
  );
}

/**
 * One revision's preview: numbers only (the preview names nothing of the draft), the metrics by
 * their place in the draft or by name when the draft is open here.
 * @param {any} preview @param {string | undefined} problem @param {string[]} metricNames
 * @param {OpenedNotes} notes @param {NoteReader | undefined} reader
 */
function previewView(preview, problem, metricNames, notes, reader) {
  if (!preview) return message("Preview: waiting for the seller's perimeter.");
  if (preview.kind === 'refused')
    return el('div', { class: 'preview-refused' }, [
      message(`The seller's perimeter refused this draft: ${preview.reason}`, 'error'),
      refusedIssues(preview, notes.issues.get(preview.revision), reader),
    ]);
  return el('div', { class: 'preview' }, [
    problem
      ? message(`Preview NOT verified: ${problem}`, 'error')
      : message("Preview signed by the seller's perimeter key (checked against the transparency log)."),
    table(
      ['On a synthetic twin of the dataset', ''],
      [
        [
          'Twin (declared domains only, no real row)',
          `${preview.twin.rows} rows, ${preview.twin.units} units`,
        ],
        ['Answer shape', `${preview.groups} groups on the twin, at most ${preview.maxGroups}`],
        [
          'Counts: noise scale against a typical value',
          `±${preview.countNoiseScale} vs ${preview.typicalCount ?? 'n/a'}`,
        ],
        ['ε per answer', preview.epsilon],
        ['δ per answer', preview.delta],
        ['Answers the budget allows per buyer', preview.answersPerBuyer ?? 'unknown'],
        ['Answers the budget allows for all buyers', preview.answersTotal ?? 'unknown'],
      ],
    ),
    table(
      ['Metric', 'Aggregate', 'Noise scale', 'Typical value on the twin'],
      preview.metrics.map((/** @type {any} */ m, /** @type {number} */ i) => [
        metricNames[i] ?? `metric ${i + 1}`,
        m.aggregate,
        m.noiseScale === null ? 'n/a' : `±${m.noiseScale}`,
        m.typicalSum ?? 'n/a',
      ]),
    ),
  ]);
}

/**
 * A proposal: its stage, every revision with its preview (each checked against the perimeter key),
 * the comments. Sealed notes are opened with the reader's key when it is held, each checked against
 * its recorded hash; what does not open or check is said beside them.
 * @param {Client} client @param {ReviewStatus} status @param {string[]} [metricNames]
 * @param {NoteReader} [reader]
 */
export async function reviewView(client, status, metricNames = [], reader = undefined) {
  const problems = await previewProblems(client, status).catch((error) => {
    const all = new Map();
    for (const r of status.revisions) all.set(r.revision, explain(error));
    return all;
  });
  /** @type {OpenedNotes} */
  const notes = reader?.key
    ? await openNotes(client, status, reader.reader, reader.key).catch((error) => ({
        comments: new Map(),
        issues: new Map(),
        problems: [explain(error)],
      }))
    : { comments: new Map(), issues: new Map(), problems: [] };
  const commentText = (/** @type {ReviewStatus['comments'][number]} */ c, /** @type {number} */ i) =>
    c.note ? (notes.comments.get(i) ?? `(sealed: ${sealedTo(reader)})`) : c.message;
  const open = OPEN_STAGES.includes(status.stage);
  return el('div', { class: 'review', 'data-review': status.reviewId }, [
    el('h3', {}, [
      `Review ${status.reviewId}: ${status.templateId} on ${status.sellerId}'s ${status.dataset}, proposed by ${status.proposerId}`,
    ]),
    el('p', { id: 'review-stage' }, [
      `Stage: ${status.stage}${open ? ` (expires ${when(status.expiresAt)})` : ''}`,
    ]),
    ...status.revisions.map((r) =>
      el('section', { 'aria-label': `revision ${r.revision}`, 'data-revision': String(r.revision) }, [
        el('h4', {}, [`Revision ${r.revision}, ${when(r.at)}`]),
        el('p', { class: 'hash' }, [`Draft hash ${r.draftHash}, sealed draft ${r.draftRef}`]),
        previewView(r.preview, problems.get(r.revision), metricNames, notes, reader),
      ]),
    ),
    el('h4', {}, ['Comments']),
    status.comments.length === 0
      ? message('No comments yet.')
      : el(
          'ul',
          { class: 'comments' },
          status.comments.map((c, i) =>
            el('li', {}, [
              `${c.by} on revision ${c.revision} (${c.kind}, ${when(c.at)}): ${commentText(c, i)}`,
            ]),
          ),
        ),
    ...notes.problems.map((p) => message(`A sealed note NOT shown: ${p}`, 'error')),
  ]);
}

/** A labelled input, textarea or number. @param {string} id @param {string} label @param {string} value */
function field(id, label, value, kind = 'input') {
  const input =
    kind === 'textarea'
      ? el('textarea', { id, rows: '4', spellcheck: 'false' }, [value])
      : el('input', { id, value, ...(kind === 'number' ? { type: 'number' } : {}), spellcheck: 'false' });
  return el('div', { class: 'field' }, [el('label', { for: id }, [label]), input]);
}

/** The draft form's fields: the template's own, JSON where a field is structured. */
const DRAFT_FIELDS = [
  ['draft-seller', 'Seller', 'seller', 'text'],
  ['draft-dataset', 'Dataset', 'dataset', 'text'],
  ['draft-id', 'Template id (lower-case letters, digits, dashes)', 'id', 'text'],
  ['draft-title', 'Title', 'title', 'text'],
  ['draft-description', 'Description', 'description', 'textarea'],
  ['draft-sql', 'SQL (one row-level SELECT, $name parameters)', 'sql', 'textarea'],
  ['draft-parameters', 'Parameters (JSON)', 'parameters', 'json'],
  ['draft-dimensions', 'Dimensions (comma-separated)', 'dimensions', 'list'],
  ['draft-metrics', 'Metrics (JSON)', 'metrics', 'json'],
  ['draft-unit', 'Privacy unit column', 'privacyUnit', 'text'],
  ['draft-max-groups-per-unit', 'Most groups one unit counts in', 'maxGroupsPerUnit', 'integer'],
  ['draft-k', 'Minimum cohort size k', 'minCohortSize', 'integer'],
  ['draft-privacy', 'Privacy (JSON: mechanism, ε per answer)', 'privacy', 'json'],
  [
    'draft-jurisdictions',
    'Declared use: jurisdictions (comma-separated)',
    'compliance.jurisdictions',
    'list',
  ],
  ['draft-purposes', 'Declared use: purposes (comma-separated)', 'compliance.purposes', 'list'],
  ['draft-data-classes', 'Declared use: data classes (comma-separated)', 'compliance.dataClasses', 'list'],
  ['draft-price', 'Suggested price (smallest units)', 'price', 'text'],
  ['draft-more', 'Other fields (JSON: constraints, groupDomain, maxGroups, ...)', 'more', 'json'],
];
/** Fields kept out of "other fields": the declared use has its own, a review is the seller's to name. */
const FORM_KEYS = new Set(['compliance', 'review']);

/** @param {Record<string, any>} draft @param {string} path */
const pick = (draft, path) => path.split('.').reduce((v, k) => v?.[k], draft);

/** Shows a draft in the form (a template file, or the proposer's own opened revision). @param {HTMLFormElement} form @param {Record<string, any>} draft */
function fillForm(form, draft) {
  const named = new Set(DRAFT_FIELDS.map(([, , path]) => path.split('.')[0]));
  const more = Object.fromEntries(Object.entries(draft).filter(([k]) => !named.has(k) && !FORM_KEYS.has(k)));
  for (const [id, , path, kind] of DRAFT_FIELDS) {
    const input = /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`));
    const value = /** @type {any} */ (path === 'more' ? more : pick(draft, path));
    input.value =
      value === undefined
        ? ''
        : kind === 'json'
          ? JSON.stringify(value, null, 1)
          : kind === 'list'
            ? value.join(', ')
            : String(value);
  }
}

/** The draft the form describes; throws naming the field that cannot be read. @param {HTMLFormElement} form */
function draftOf(form) {
  /** @type {Record<string, any>} */
  const draft = { version: 1, multiSeller: false, privateSelection: false, compliance: {} };
  for (const [id, label, path, kind] of DRAFT_FIELDS) {
    const text = /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`)).value.trim();
    let value;
    if (kind === 'json') {
      try {
        value = JSON.parse(text || '{}');
      } catch (error) {
        throw new Error(`${label} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else if (kind === 'list')
      value = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (kind === 'integer') value = Number(text);
    else value = text;
    if (path === 'more') Object.assign(draft, value);
    else if (path.startsWith('compliance.')) draft.compliance[path.slice('compliance.'.length)] = value;
    else draft[path] = value;
  }
  return draft;
}

/**
 * The proposal form: fill it by hand or from a template file; sealing and signing happen here.
 * `revising` (set by "Revise") makes the next submission a revision of that review.
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {(reviewId: string) => void} follow
 */
function proposalForm(client, resultKey, follow) {
  /** @type {{ reviewId: string, revision: number } | undefined} */
  let revising;
  const status = el('div', { 'aria-live': 'polite', id: 'proposal-status' });
  const fromFile = /** @type {HTMLInputElement} */ (
    el('input', { id: 'draft-file', type: 'file', accept: '.json,application/json' })
  );
  const submit = el('button', { type: 'submit' }, ['Seal, sign and propose']);
  const form = /** @type {HTMLFormElement} */ (
    el('form', { 'aria-label': 'propose a template', id: 'proposal-form' }, [
      el('div', { class: 'field' }, [
        el('label', { for: 'draft-file' }, ['Start from a template file (read here, not uploaded)']),
        fromFile,
      ]),
      ...DRAFT_FIELDS.map(([id, label, , kind]) =>
        field(
          id,
          label,
          kind === 'json' ? '{}' : '',
          kind === 'json' || kind === 'textarea' ? 'textarea' : kind === 'integer' ? 'number' : 'input',
        ),
      ),
      el('p', {}, [
        "The seller's perimeter lints the draft with DuckDB's parser, which does not run in this page: " +
          'a refused draft comes back below with every problem and how to fix it.',
      ]),
      submit,
      status,
    ])
  );
  fromFile.addEventListener('change', () => {
    const file = fromFile.files?.[0];
    if (!file) return;
    file.text().then(
      (text) => fillForm(form, JSON.parse(text)),
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    replace(status, message('Sealing and signing the draft in this page…'));
    const send = async () => {
      const draft = draftOf(form);
      const reviewId = revising?.reviewId ?? `review-${crypto.randomUUID()}`;
      const revision = revising?.revision ?? 1;
      const body = await sealedRevision(
        client,
        { reviewId, revision, proposer: client.partyId, draft },
        resultKey,
      );
      await client.post(revision === 1 ? '/template-reviews' : `${reviewPath(reviewId)}/revisions`, body);
      return reviewId;
    };
    send().then(
      (reviewId) => {
        replace(status, message(`Sent: review ${reviewId}.`));
        revising = undefined;
        replace(submit, 'Seal, sign and propose');
        follow(reviewId);
      },
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  /** Opens the proposer's own sealed copy of the latest revision into the form, for the next one. */
  const revise = async (/** @type {ReviewStatus} */ review) => {
    if (!resultKey) throw new Error('Load your result (X25519) key: your copy of the draft is sealed to it.');
    const latest = review.revisions[review.revisions.length - 1];
    fillForm(form, await openRevision(client, review, latest, 'proposer', resultKey));
    revising = { reviewId: review.reviewId, revision: latest.revision + 1 };
    replace(submit, `Seal, sign and send revision ${revising.revision} of ${review.reviewId}`);
    form.scrollIntoView();
  };
  return { form, revise };
}

/**
 * The buyer's (or sponsor's) proposals: the form, its proposals, one followed until the perimeter
 * previews its latest revision.
 * @param {Client} client @param {HeldKey | undefined} resultKey @param {HTMLElement} root
 * @param {() => void} openCatalog
 */
export async function showProposals(client, resultKey, root, openCatalog) {
  const panel = el('section', { id: 'review-panel', 'aria-live': 'polite' });
  const list = el('div', { id: 'my-proposals' });
  let followed = '';
  const follow = (/** @type {string} */ reviewId) => {
    followed = reviewId;
    followReview(reviewId).catch((error) => replace(panel, message(explain(error), 'error')));
    refreshList().catch((error) => replace(list, message(explain(error), 'error')));
  };
  const { form, revise } = proposalForm(client, resultKey, follow);

  async function followReview(/** @type {string} */ reviewId) {
    for (let tries = 0; followed === reviewId && tries < POLL_TRIES; tries++) {
      /** @type {ReviewStatus} */
      const status = await client.get(reviewPath(reviewId));
      const actions = el('div', { class: 'actions' });
      if (status.approvedTemplateHash) {
        const buy = el('button', { type: 'button' }, ['Buy it in the catalog']);
        buy.addEventListener('click', openCatalog);
        actions.append(
          message(
            `Approved: ${status.templateId} is in the catalog (template ${status.approvedTemplateHash}).`,
          ),
          buy,
        );
      } else if (OPEN_STAGES.includes(status.stage)) {
        const again = el('button', { type: 'button' }, ['Revise (opens your sealed copy here)']);
        again.addEventListener(
          'click',
          () => void revise(status).catch((error) => actions.append(message(explain(error), 'error'))),
        );
        actions.append(again);
      }
      if (followed !== reviewId) return;
      replace(panel, await reviewView(client, status, [], { reader: 'proposer', key: resultKey }), actions);
      const waiting = status.revisions.some((r) => !r.preview) && OPEN_STAGES.includes(status.stage);
      if (!waiting) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async function refreshList() {
    const { reviews } = await client.get('/template-reviews');
    const rows = reviews.map((/** @type {ReviewStatus} */ r) => {
      const open = el('button', { type: 'button' }, ['Open']);
      open.addEventListener('click', () => follow(r.reviewId));
      return el('tr', { 'data-review': r.reviewId }, [
        ...[r.reviewId, r.templateId, r.sellerId, r.dataset, r.stage].map((cell) => el('td', {}, [cell])),
        el('td', {}, [open]),
      ]);
    });
    const head = el(
      'tr',
      {},
      ['Review', 'Template', 'Seller', 'Dataset', 'Stage', ''].map((h) => el('th', { scope: 'col' }, [h])),
    );
    replace(list, el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]));
  }

  replace(root, el('h2', {}, ['Propose a template']), form, el('h2', {}, ['My proposals']), list, panel);
  await refreshList();
}
