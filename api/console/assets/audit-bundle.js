// @ts-check
/**
 * The auditor drops an audit bundle (`tusk audit bundle --out`) and the page checks, in the browser,
 * what needs no Temporal: the operator's signature on the bundle and its receipt under the key the
 * auditor pinned, the receipt's inclusion in the transparency log (audit/verify/checks.ts's
 * checkBundleSignature, checkReceiptLogged), and each template the bundle holds against its seller's
 * key as the log registers it (not the key the bundle names). Replaying the histories needs
 * Temporal's replayer, which runs only in Node: the page says it was not done here, and the auditor
 * runs `tusk audit verify` on its own machine. No part of the bundle is sent anywhere.
 */
import { el, table } from './dom.js';
import {
  entryLeafHash,
  fromHex,
  registeredKeyOf,
  treeHeadProblem,
  verifyEd25519,
  verifyInclusion,
} from './release-check.js';
import { canonicalHash, canonicalJson } from './tusk-crypto.js';

/** @typedef {{ check: string, status: 'ok' | 'finding' | 'skipped', detail?: string }} CheckResult */

/** @returns {CheckResult} */
const ok = (/** @type {string} */ check, detail = '') => ({
  check,
  status: 'ok',
  ...(detail ? { detail } : {}),
});
/** @returns {CheckResult} */
const finding = (/** @type {string} */ check, /** @type {string} */ detail) => ({
  check,
  status: 'finding',
  detail,
});
/** @returns {CheckResult} */
const skipped = (/** @type {string} */ check, /** @type {string} */ detail) => ({
  check,
  status: 'skipped',
  detail,
});

const isRecord = (/** @type {unknown} */ v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a document is not signed by the pinned operator key, or ''. @param {any} doc @param {string} operatorKey */
async function operatorSignatureProblem(doc, operatorKey) {
  if (!isRecord(doc?.signature) || typeof doc.signature.value !== 'string') return 'it carries no signature';
  if (doc.signature.publicKey !== operatorKey)
    return `signed by key ${doc.signature.publicKey}, not the operator's pinned key ${operatorKey}`;
  if (!(await verifyEd25519(operatorKey, canonicalJson(doc.body), doc.signature.value)))
    return 'the signature does not match the document (changed after signing?)';
  return '';
}

/** The bundle's shape, as audit/bundle.ts's signedBundle requires of the fields read here, or why not. @param {any} bundle */
export function bundleShapeProblem(bundle) {
  if (!isRecord(bundle) || !isRecord(bundle.body) || bundle.body.type !== 'tusk.audit-bundle/v1')
    return 'it is not an audit bundle (type tusk.audit-bundle/v1)';
  const { body } = bundle;
  if (typeof body.dealId !== 'string') return 'it names no subject';
  if (!Array.isArray(body.runs) || !Array.isArray(body.parties) || !Array.isArray(body.templates))
    return 'it lacks its runs, parties or templates';
  return '';
}

/** @param {any} bundle @param {string} operatorKey @returns {Promise<CheckResult[]>} */
async function receiptChecks(bundle, operatorKey) {
  const { receipt, receiptInclusion, dealId } = bundle.body;
  if (!receipt)
    return [
      skipped('receipt signed by the operator', 'the bundle holds no receipt (a disclosure, or not settled)'),
    ];
  const signature = await operatorSignatureProblem(receipt, operatorKey);
  const signed = signature
    ? finding('receipt signed by the operator', `receipt: ${signature}`)
    : ok('receipt signed by the operator');
  if (!receiptInclusion)
    return [signed, finding('receipt in the transparency log', 'the bundle holds no inclusion proof')];
  const check = 'receipt in the transparency log';
  const headProblem = await treeHeadProblem(receiptInclusion.treeHead, operatorKey);
  if (headProblem) return [signed, finding(check, headProblem)];
  const entry = {
    type: 'tusk.log-entry/v1',
    kind: 'receipt',
    dealId,
    digest: await canonicalHash(receipt.body),
  };
  const leaf = await entryLeafHash(entry);
  const leafHex = Array.from(leaf, (b) => b.toString(16).padStart(2, '0')).join('');
  if (leafHex !== receiptInclusion.leafHash)
    return [signed, finding(check, 'the proof is for another entry than the one checked')];
  if (receiptInclusion.treeHead.body.treeSize !== receiptInclusion.treeSize)
    return [signed, finding(check, 'the proof is for another tree size than its signed head')];
  const included = await verifyInclusion(
    receiptInclusion.leafIndex,
    receiptInclusion.treeSize,
    leaf,
    (receiptInclusion.path ?? []).map(fromHex),
    fromHex(receiptInclusion.treeHead.body.rootHash),
  );
  return [
    signed,
    included
      ? ok(check, `leaf ${receiptInclusion.leafIndex} of ${receiptInclusion.treeSize}`)
      : finding(
          check,
          `the inclusion proof of leaf ${receiptInclusion.leafIndex} does not lead to the signed root`,
        ),
  ];
}

/**
 * Each template the bundle holds, signed by its seller's key as the log registers it
 * (query-policies/signature.ts's checkTemplateSignature).
 * @param {{ get: (path: string) => Promise<any> }} client @param {any} bundle @param {string} operatorKey
 * @returns {Promise<CheckResult[]>}
 */
async function templateChecks(client, bundle, operatorKey) {
  if (bundle.body.templates.length === 0)
    return [skipped('template and seller signature', 'the bundle holds no template')];
  /** @type {CheckResult[]} */
  const results = [];
  for (const { sellerId, template, signature } of bundle.body.templates) {
    const check = `template and seller signature (${sellerId}, ${template?.id})`;
    const hash = await canonicalHash(template);
    if (!isRecord(signature) || signature.templateId !== template?.id) {
      results.push(finding(check, 'the signature is for another template'));
      continue;
    }
    if (signature.templateHash !== hash) {
      results.push(
        finding(check, `the template changed after signing (now ${hash}, signed ${signature.templateHash})`),
      );
      continue;
    }
    const key = await registeredKeyOf(client, sellerId, operatorKey, 'party');
    if (!key) results.push(finding(check, `the transparency log registers no key for ${sellerId}`));
    else if (!(await verifyEd25519(key, `tusk template v1\n${hash}`, signature.signature)))
      results.push(finding(check, `the signature does not verify with seller ${sellerId}'s registered key`));
    else results.push(ok(check, hash));
  }
  return results;
}

/** What only `tusk audit verify` checks: named, so a clean page is not mistaken for a full audit. */
const NOT_HERE = [
  'histories replay against the pinned workflow code',
  'receipt matches the histories',
  'money conservation, payers’ signed terms and decisions',
  'release statements, privacy charges and the ledger',
];

/**
 * Every check the page makes of a bundle, under the operator key the auditor pinned.
 * @param {{ get: (path: string) => Promise<any> }} client @param {unknown} bundle @param {string} operatorKey
 * @returns {Promise<{ subject: string, checks: CheckResult[] }>}
 */
export async function checkBundleHere(client, bundle, operatorKey) {
  const shape = bundleShapeProblem(bundle);
  if (shape) throw new Error(`Refusing the file: ${shape}.`);
  const b = /** @type {any} */ (bundle);
  const signature = await operatorSignatureProblem(b, operatorKey);
  const checks = [
    signature ? finding('bundle signed by the operator', signature) : ok('bundle signed by the operator'),
    ...(await receiptChecks(b, operatorKey)),
    ...(await templateChecks(client, b, operatorKey)),
    ...NOT_HERE.map((check) =>
      skipped(check, "needs Temporal's replayer (Node only): run tusk audit verify <bundle> on your machine"),
    ),
  ];
  return { subject: b.body.dealId, checks };
}

const MARKS = { ok: 'ok', finding: 'FINDING', skipped: 'skipped' };

/** The findings as a table, one row per check. @param {{ subject: string, checks: CheckResult[] }} report */
export function reportView(report) {
  const findings = report.checks.filter((c) => c.status === 'finding').length;
  return el('section', { id: 'bundle-report', 'aria-label': `audit of ${report.subject}` }, [
    el('h3', {}, [
      `Audit of ${report.subject}: ${findings === 0 ? 'no findings in the checks made here' : `${findings} finding${findings === 1 ? '' : 's'}`}`,
    ]),
    table(
      ['Status', 'Check', 'Detail'],
      report.checks.map((c) => [MARKS[c.status], c.check, c.detail ?? '']),
    ),
  ]);
}
