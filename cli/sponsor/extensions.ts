import { canonicalHash } from '../../lib/canonical-json';
import { decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { checkReleaseLookup, extensionLookupKey, releaseLookup } from '../../lib/transparency/release-entry';
import { registeredKeyOf } from '../../sdk/release-check';
import type { DecisionScope } from '../../lib/decision-statement';
import { logKeyOf } from '../buyer/release-acceptance';
import { CliError, EXIT, partyClient, type PartyOptions } from '../common';
import { encode } from '../party-commands';

/** What the grant's status shows a party of the grant about its deadlines and their extensions. */
interface ShownGrant {
  sponsorId?: string;
  scope?: DecisionScope;
  milestones: { milestoneId: string; deadline: number }[];
  extensions?: SignedDecision<{ milestoneId: string; deadline: number }>[];
}

/** One shown extension, as the grantee's check found it. */
export interface ExtensionFinding {
  milestoneId: string;
  deadline: string;
  logged: boolean;
  leafIndex?: number;
  problem?: string;
}

/** Why a shown extension does not bind the sponsor on this grant, or undefined when it does. */
function extensionProblem(
  extension: NonNullable<ShownGrant['extensions']>[number],
  grant: ShownGrant & { scope: DecisionScope },
  sponsorKey: string | undefined,
): string | undefined {
  const { statement } = extension;
  if (statement.action !== 'deadline_extension') return `it is a ${statement.action}, not an extension`;
  if (statement.principal !== grant.sponsorId)
    return `it is signed as ${statement.principal}, not the sponsor`;
  if (canonicalHash(statement.subject) !== canonicalHash(grant.scope.subject))
    return "it extends another grant's terms";
  if (!sponsorKey) return `the transparency log registers no key for ${grant.sponsorId}`;
  if (!decisionSignatureValid(sponsorKey, extension)) return "the sponsor's registered key did not sign it";
  return undefined;
}

/**
 * The grantee's check of the deadlines it is shown: settlement honours an extension only when it is in
 * the transparency log (activities/settlement/remainder-terms.ts), so an extension the operator shows
 * but keeps out of its log would let the remainder go back at the earlier deadline. Each extension the
 * grant's status shows must be the sponsor's signature over this grant, and be in the log's signed
 * answer for the grant's lookup key (checked under the pinned operator key). Exit 1 otherwise.
 */
export async function checkGrantExtensions(
  grantId: string,
  options: PartyOptions & { operatorKey?: string },
): Promise<ExtensionFinding[]> {
  const client = await partyClient(options);
  const grant = await client.get<ShownGrant>(`/grants/${encode(grantId)}`);
  const { scope } = grant;
  if (!scope) throw new CliError(`grant ${grantId} is still starting: try again`, EXIT.refused);
  const operatorKey = await logKeyOf(client, options.operatorKey);
  const lookupKey = extensionLookupKey({ grantId: scope.subject.id, termsHash: scope.subject.termsHash });
  const answer = releaseLookup.parse(await client.get<unknown>(`/log/extensions/${lookupKey}`));
  const check = checkReleaseLookup(answer, lookupKey, operatorKey, undefined, 'extension');
  if (!check.ok)
    throw new CliError(`the log's answer about grant ${grantId} fails: ${check.reason}`, EXIT.refused);
  const leafOf = new Map(check.releases.map((release) => [release.digest, release.leafIndex]));
  const sponsorKey = grant.sponsorId
    ? await registeredKeyOf(client, grant.sponsorId, operatorKey, 'party')
    : undefined;
  return (grant.extensions ?? []).map((extension) => {
    const { milestoneId, deadline } = extension.statement.content;
    const leafIndex = leafOf.get(canonicalHash(extension));
    const problem =
      extensionProblem(extension, { ...grant, scope }, sponsorKey) ??
      (leafIndex === undefined
        ? 'it is not in the transparency log: settlement does not honour it, and the remainder may go back at the earlier deadline'
        : undefined);
    return {
      milestoneId,
      deadline: new Date(deadline).toISOString(),
      logged: leafIndex !== undefined,
      ...(leafIndex !== undefined ? { leafIndex } : {}),
      ...(problem ? { problem } : {}),
    };
  });
}

export const extensionLines = (grantId: string, findings: ExtensionFinding[]): string[] =>
  findings.length === 0
    ? [`grant ${grantId}: no deadline extension shown`]
    : findings.map((f) =>
        f.problem
          ? `${f.milestoneId}: extended to ${f.deadline}, NOT binding: ${f.problem}`
          : `${f.milestoneId}: extended to ${f.deadline}, signed by the sponsor and in the log (leaf ${f.leafIndex})`,
      );
