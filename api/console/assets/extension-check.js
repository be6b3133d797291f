// @ts-check
/**
 * The grantee's check of the deadline extensions a grant's status shows, as `tusk sponsor grant
 * extensions` does it (cli/sponsor/extensions.ts): settlement honours an extension only when it is in
 * the transparency log (activities/settlement/remainder-terms.ts), so one the operator sent straight to
 * the workflow shows a deadline the remainder will not wait for. Each shown extension must be signed by
 * the sponsor's registered key over this grant's terms and be in the log's signed answer for the
 * grant's lookup key, proofs checked under the pinned operator key.
 */
import {
  entryLeafHash,
  fromHex,
  registeredKeyOf,
  treeHeadProblem,
  verifyEd25519,
  verifyInclusion,
} from './release-check.js';
import { canonicalHash, canonicalJson, sha256Hex } from './tusk-crypto.js';

/**
 * H("tusk extension" ‖ grant ‖ terms hash), as lib/transparency/release-entry.ts's extensionLookupKey.
 * @param {string} grantId @param {string} termsHash
 */
export const extensionLookupKey = (grantId, termsHash) =>
  sha256Hex(canonicalJson(['tusk extension', grantId, termsHash]));

/**
 * Why the operator's signed lookup answer cannot be believed (checkReleaseLookup), or '' when it can.
 * @param {any} answer @param {string} lookupKey @param {string} operatorKey @param {'release' | 'extension'} kind
 */
export async function lookupProblem(answer, lookupKey, operatorKey, kind) {
  const headProblem = await treeHeadProblem(answer?.treeHead, operatorKey);
  if (headProblem) return headProblem;
  const statement = answer.statement;
  if (statement?.signature?.publicKey !== operatorKey)
    return `the lookup statement is not signed by the operator's pinned key ${operatorKey}`;
  if (!(await verifyEd25519(operatorKey, canonicalJson(statement.body), statement.signature.value)))
    return 'the lookup statement signature does not match (changed after signing?)';
  const releases = Array.isArray(answer.releases) ? answer.releases : [];
  const body = statement.body;
  if (
    body?.type !== 'tusk.release-lookup/v1' ||
    body.kind !== kind ||
    body.lookupKey !== lookupKey ||
    answer.lookupKey !== lookupKey ||
    body.treeSize !== answer.treeHead.body.treeSize ||
    canonicalJson(body.leafIndexes) !== canonicalJson(releases.map((/** @type {any} */ r) => r.leafIndex))
  )
    return 'the signed lookup statement does not say what the answer holds';
  const root = fromHex(answer.treeHead.body.rootHash);
  for (const release of releases) {
    if (release.document !== undefined && (await canonicalHash(release.document)) !== release.digest)
      return `the document at leaf ${release.leafIndex} is not the one logged`;
    const entry = { type: 'tusk.log-entry/v1', kind, dealId: `${kind}:${lookupKey}`, digest: release.digest };
    const proof = (release.path ?? []).map(fromHex);
    const size = answer.treeHead.body.treeSize;
    if (!(await verifyInclusion(release.leafIndex, size, await entryLeafHash(entry), proof, root)))
      return `the entry at leaf ${release.leafIndex} is not in the log's signed head`;
  }
  return '';
}

/**
 * Why a shown extension does not bind the sponsor on this grant, or '' when it does.
 * @param {any} extension @param {any} grant @param {string | undefined} sponsorKey
 */
async function extensionProblem(extension, grant, sponsorKey) {
  const statement = extension?.statement;
  if (statement?.action !== 'deadline_extension') return `it is a ${statement?.action}, not an extension`;
  if (statement.principal !== grant.sponsorId)
    return `it is signed as ${statement.principal}, not the sponsor`;
  if ((await canonicalHash(statement.subject)) !== (await canonicalHash(grant.scope.subject)))
    return "it extends another grant's terms";
  if (!sponsorKey) return `the transparency log registers no key for ${grant.sponsorId}`;
  const signed = `tusk decision v2\n${canonicalJson(statement)}`;
  if (!(await verifyEd25519(sponsorKey, signed, extension.signature)))
    return "the sponsor's registered key did not sign it";
  return '';
}

/**
 * @typedef {{ milestoneId: string, deadline: string, logged: boolean, leafIndex?: number, problem: string }} ExtensionFinding
 */

/**
 * One finding per extension the grant shows; throws when the log's answer itself cannot be believed.
 * @param {{ get: (path: string) => Promise<any> }} client @param {any} grant the grant's status
 * @param {string} operatorKey
 * @returns {Promise<ExtensionFinding[]>}
 */
export async function checkGrantExtensions(client, grant, operatorKey) {
  const { scope } = grant;
  if (!scope) throw new Error(`grant ${grant.grantId} is still starting: try again`);
  const lookupKey = await extensionLookupKey(scope.subject.id, scope.subject.termsHash);
  const answer = await client.get(`/log/extensions/${lookupKey}`);
  const problem = await lookupProblem(answer, lookupKey, operatorKey, 'extension');
  if (problem) throw new Error(`the log's answer about grant ${grant.grantId} fails: ${problem}`);
  /** @type {Map<string, number>} */
  const leafOf = new Map(answer.releases.map((/** @type {any} */ r) => [r.digest, r.leafIndex]));
  const sponsorKey = grant.sponsorId
    ? await registeredKeyOf(client, grant.sponsorId, operatorKey, 'party')
    : undefined;
  /** @type {ExtensionFinding[]} */
  const findings = [];
  for (const extension of grant.extensions ?? []) {
    const { milestoneId, deadline } = extension.statement?.content ?? {};
    const leafIndex = leafOf.get(await canonicalHash(extension));
    const problem =
      (await extensionProblem(extension, grant, sponsorKey)) ||
      (leafIndex === undefined
        ? 'it is not in the transparency log: settlement does not honour it, and the remainder may go back at the earlier deadline'
        : '');
    findings.push({
      milestoneId: String(milestoneId),
      deadline: new Date(deadline).toISOString(),
      logged: leafIndex !== undefined,
      ...(leafIndex !== undefined ? { leafIndex } : {}),
      problem,
    });
  }
  return findings;
}

/** The line the page shows for one finding (the CLI's extensionLines). @param {ExtensionFinding} f */
export const extensionLine = (f) =>
  f.problem
    ? `${f.milestoneId}: extended to ${f.deadline}, NOT binding: ${f.problem}`
    : `${f.milestoneId}: extended to ${f.deadline}, verified: signed by the sponsor and in the log (leaf ${f.leafIndex})`;
