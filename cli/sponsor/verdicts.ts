import { checkVerdict, type ReleaseStatement, type TuskClient } from '../../sdk';
import { catalog } from '../buyer/buy';
import { EXIT, partyClient, type PartyOptions } from '../common';
import { encode } from '../party-commands';
import { readKeptTermsHash } from '../settlement/kept-terms';
import { logKeyOf } from '../buyer/release-acceptance';
import type { ShownMilestoneCheck } from '../../workflows/grant/shapes';

interface CheckedGrant {
  milestones: {
    milestoneId: string;
    check: ShownMilestoneCheck;
    lastCheck?: { met: boolean; statementHash?: string; release?: ReleaseStatement };
  }[];
}

/** The seller whose perimeter checks a milestone: as signed, else the catalog's seller of its template. */
async function sellerOfCheck(client: TuskClient, check: Extract<ShownMilestoneCheck, { kind: 'query' }>) {
  if (check.sellerId) return check.sellerId;
  return (await catalog(client)).find((t) => t.hash === check.templateHash)?.seller;
}

/**
 * Settlement pays a tranche only on the seller's signed verdict; the sponsor checks each milestone's last
 * verdict here too, against the seller's perimeter key in the log and the grant terms it kept when signing.
 * Exit 1 when any verdict is not the seller's.
 */
export async function checkGrantVerdicts(grantId: string, options: PartyOptions): Promise<void> {
  const client = await partyClient(options);
  const termsHash = await readKeptTermsHash(options.home, client.partyId, 'grant', grantId);
  const status = await client.get<CheckedGrant>(`/grants/${encode(grantId)}`);
  const operatorKey = await logKeyOf(client);
  for (const milestone of status.milestones) {
    if (milestone.check.kind !== 'query' || !milestone.lastCheck) continue;
    const sellerId = await sellerOfCheck(client, milestone.check);
    const check = sellerId
      ? await checkVerdict(client, grantId, milestone, sellerId, operatorKey, termsHash)
      : { ok: false as const, problems: ['no seller offers its template any more'] };
    const verdict = milestone.lastCheck.met ? 'met' : 'not met';
    if (check.ok) console.log(`${milestone.milestoneId}: ${verdict}, signed by ${sellerId}'s perimeter`);
    else {
      console.log(
        `${milestone.milestoneId}: ${verdict}, NOT the seller's verdict: ${check.problems.join('; ')}`,
      );
      process.exitCode = EXIT.refused;
    }
  }
}
