// @ts-check
import { explain } from './api.js';
import { el, message, replace, table } from './dom.js';
import { decisionPanel } from './disclosure-decisions.js';
import { treeHeadProblem, verifyConsistency } from './release-check.js';
import { checkBundleHere, reportView } from './audit-bundle.js';

/**
 * The auditor's and compliance's view: the transparency log's signed head, checked here against the
 * pinned operator key; a consistency check of the log now against a head the person saved earlier
 * (RFC 9162 §2.1.4, as lib/transparency/tree-head.ts's checkConsistency); the disclosures listed.
 */

/** @param {string} hex */
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

/**
 * Why the log now does not extend the saved head, or '' when it does.
 * @param {import('./api.js').Client} client @param {any} saved @param {any} now @param {string} operatorKey
 */
export async function consistencyProblem(client, saved, now, operatorKey) {
  const savedProblem = await treeHeadProblem(saved, operatorKey);
  if (savedProblem) return `the saved head is not the operator's: ${savedProblem}`;
  const older = saved.body;
  const newer = now.body;
  if (older.treeSize > newer.treeSize)
    return `the log shrank from ${older.treeSize} to ${newer.treeSize} entries: history was rewritten`;
  if (older.treeSize === newer.treeSize)
    return older.rootHash === newer.rootHash
      ? ''
      : `two different logs of size ${older.treeSize} were signed: the log forked`;
  const proof = await client.get(`/log/proof/consistency?first=${older.treeSize}&second=${newer.treeSize}`);
  const ok = await verifyConsistency(
    older.treeSize,
    newer.treeSize,
    fromHex(older.rootHash),
    fromHex(newer.rootHash),
    (proof.path ?? []).map(fromHex),
  );
  return ok
    ? ''
    : `the log of size ${newer.treeSize} does not extend the head of size ${older.treeSize} you saved: history was rewritten`;
}

/** @param {any} head */
const headRows = (head) => [
  ['Entries', head.body.treeSize],
  ['Root', head.body.rootHash],
  ['Signed at', new Date(head.body.timestamp).toISOString()],
  ['Signed by', head.signature.publicKey],
];

/** @param {import('./api.js').Client} client @param {HTMLElement} root */
export async function showAuditor(client, root) {
  const operatorKey = client.operatorKey || (await client.get('/operator/key')).publicKey;
  const head = await client.get('/log/head');
  const headProblem = await treeHeadProblem(head, operatorKey);
  const saved = /** @type {HTMLTextAreaElement} */ (
    el('textarea', { id: 'saved-head', rows: '4', cols: '70' })
  );
  const verdict = el('div', { 'aria-live': 'polite', id: 'consistency' });
  const form = el('form', { 'aria-label': 'consistency check' }, [
    el('label', { for: 'saved-head' }, ['A signed head you saved earlier (JSON)']),
    saved,
    el('button', { type: 'submit' }, ['Check the log extends it']),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let pasted;
    try {
      pasted = JSON.parse(saved.value);
    } catch {
      return replace(verdict, message('The saved head is not JSON.', 'error'));
    }
    consistencyProblem(client, pasted, head, operatorKey).then(
      (problem) =>
        replace(
          verdict,
          problem
            ? message(problem, 'error')
            : message(
                `Consistent: the log of ${head.body.treeSize} entries extends the head of ${pasted.body.treeSize} you saved.`,
              ),
        ),
      (error) => replace(verdict, message(explain(error), 'error')),
    );
  });
  const keep = el('textarea', { id: 'current-head', rows: '4', cols: '70', readonly: '' });
  keep.textContent = JSON.stringify(head);
  const disclosures = el('div');
  replace(
    root,
    el('h2', {}, ["The transparency log's head"]),
    headProblem
      ? message(`The log's head cannot be believed: ${headProblem}`, 'error')
      : message(`The head's signature is the pinned operator key's (${operatorKey}).`),
    table(['', 'Value'], headRows(head)),
    el('label', { for: 'current-head' }, ['This head, to save for a later check']),
    keep,
    form,
    verdict,
    bundleDrop(client, operatorKey),
    el('h2', {}, ['Disclosures']),
    disclosures,
  );
  const listed = await client.get('/deals?kind=disclosure').catch((error) => ({ error }));
  if ('error' in listed) return replace(disclosures, message(explain(listed.error), 'error'));
  replace(disclosures, disclosureTable(client, listed.deals));
}

/**
 * Where the auditor drops (or chooses) an audit bundle; it is read and checked here (audit-bundle.js).
 * @param {import('./api.js').Client} client @param {string} operatorKey
 */
function bundleDrop(client, operatorKey) {
  const report = el('div', { 'aria-live': 'polite' });
  const input = /** @type {HTMLInputElement} */ (
    el('input', { id: 'bundle-file', type: 'file', accept: '.json,application/json' })
  );
  /** @param {File | undefined} file */
  const check = (file) => {
    if (!file) return;
    (async () => {
      let bundle;
      try {
        bundle = JSON.parse(await file.text());
      } catch {
        throw new Error('Refusing the file: it is not JSON.');
      }
      return checkBundleHere(client, bundle, operatorKey);
    })().then(
      (done) => replace(report, reportView(done)),
      (error) => replace(report, message(explain(error), 'error')),
    );
  };
  input.addEventListener('change', () => check(input.files?.[0]));
  const zone = el('div', { class: 'drop-zone', id: 'bundle-drop' }, [
    el('label', { for: 'bundle-file' }, [
      'Drop an audit bundle here, or choose one (tusk audit bundle --out)',
    ]),
    input,
  ]);
  zone.addEventListener('dragover', (event) => event.preventDefault());
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    check(event.dataTransfer?.files?.[0]);
  });
  return el('section', { 'aria-label': 'audit bundle' }, [
    el('h2', {}, ['Verify an audit bundle']),
    message(
      "Checked in this page under the pinned operator key: the bundle's and receipt's signatures, the receipt in the log, the sellers' template signatures. Replaying the histories needs tusk audit verify.",
    ),
    zone,
    report,
  ]);
}

/**
 * The disclosures listed, each with a button showing what it asks (and, to compliance, the decision).
 * @param {import('./api.js').Client} client @param {{ id: string, stage: string, startedAt: string, closedAt?: string }[]} listed
 */
function disclosureTable(client, listed) {
  const panel = el('div', { 'aria-live': 'polite' });
  const rows = listed.map((d) => {
    const show = el('button', { type: 'button' }, ['Show']);
    show.addEventListener('click', () => {
      decisionPanel(client, d.id).then(
        (section) => replace(panel, section),
        (error) => replace(panel, message(explain(error), 'error')),
      );
    });
    return el('tr', { 'data-disclosure': d.id }, [
      ...[d.id, d.stage, d.startedAt, d.closedAt ?? ''].map((cell) => el('td', {}, [cell])),
      el('td', {}, [show]),
    ]);
  });
  const head = el(
    'tr',
    {},
    ['Disclosure', 'Stage', 'Started', 'Closed', ''].map((h) => el('th', { scope: 'col' }, [h])),
  );
  return el('div', {}, [
    el('table', { id: 'disclosures' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
    panel,
  ]);
}
