import { currentRegistration, type KeyPurpose } from '../lib/transparency/key-registration';
import { sha256Ref } from '../lib/canonical-json';
import { KeyLogUntrustedError, readKeyLog } from '../lib/key-log';
import {
  encryptedAnswerCommitment,
  releaseStatementProblems,
  type ReleaseKind,
  type ReleaseStatement,
} from '../lib/release-statement';
import type { TuskClient } from '../lib/tusk-client';
import { heEnvelopeOf } from './results';

export type ReleaseCheck = { ok: true; statement: ReleaseStatement } | { ok: false; problems: string[] };

/** What the consumer knows of the release it received, beyond the deal id and commitment. */
export interface ReleaseWanted {
  kind?: ReleaseKind;
  /** The hash of the terms the consumer itself signed (lib/signed-terms.ts `termsHashOf`). */
  termsHash?: string;
}

/** A party's current key of one purpose, from the transparency log checked under the pinned operator key. */
export async function registeredKeyOf(
  client: TuskClient,
  partyId: string,
  operatorKey: string,
  purpose: KeyPurpose,
): Promise<string | undefined> {
  const checked = await readKeyLog((path) => client.get<unknown>(path), {
    partyId,
    purpose,
    operatorPublicKey: operatorKey,
  }).catch((error: Error) => {
    if (!(error instanceof KeyLogUntrustedError)) throw error;
    throw new Error(`the transparency log's answer about ${partyId} fails: ${error.message}`);
  });
  return currentRegistration(checked.registrations)?.publicKey;
}

/** The seller's perimeter key as the transparency log registers it, proven to a head the operator signed. */
export async function registeredPerimeterKey(
  client: TuskClient,
  sellerId: string,
  operatorKey: string,
): Promise<string | undefined> {
  return registeredKeyOf(client, sellerId, operatorKey, 'perimeter');
}

/** Why a seller without a logged perimeter key gets nothing accepted, and what to do about it. */
export const noPerimeterKeyProblem = (sellerId: string) =>
  `seller ${sellerId} has no perimeter key in the transparency log, so nothing it releases can be checked: ` +
  `ask seller ${sellerId} to have its perimeter key registered (tusk seller init makes it; ` +
  `tusk operator party add ${sellerId} --from seller.json logs it), then fetch the answer again`;

/**
 * An HE answer is named by its content address: the commitment the statement signs must be the one
 * the delivered bytes give (a sealed table's is checked when it is opened, against its payload).
 */
function deliveredBytesProblems(
  sealed: { commitment: string; ciphertext?: string; release?: ReleaseStatement },
  wanted: ReleaseWanted,
): string[] {
  if (sealed.ciphertext === undefined) return [];
  const bytes = Buffer.from(sealed.ciphertext, 'base64');
  const kind = wanted.kind ?? sealed.release?.body?.kind;
  const encrypted = kind === 'he_selection' || kind === 'he_contribution' || heEnvelopeOf(bytes);
  if (!encrypted) return [];
  const actual = encryptedAnswerCommitment(sha256Ref(bytes));
  return actual === sealed.commitment
    ? []
    : [`the encrypted answer delivered is not the one committed to (${sealed.commitment})`];
}

/**
 * Before a buyer accepts an answer (a sealed table, a private selection, a subscription's delivery):
 * the seller's perimeter must have signed a statement of this release, under the perimeter key the
 * log registers for the seller, naming this deal, exactly the commitment delivered, the kind of
 * release, and (when the caller kept them) the terms it signed. A seller with no logged perimeter
 * key is refused too: nothing would tell its answers from ones the operator made up.
 */
export async function checkRelease(
  client: TuskClient,
  sealed: { dealId: string; commitment: string; ciphertext?: string; release?: ReleaseStatement },
  sellerId: string,
  operatorKey: string,
  wanted: ReleaseWanted = {},
): Promise<ReleaseCheck> {
  const perimeterKey = await registeredPerimeterKey(client, sellerId, operatorKey);
  if (!perimeterKey) return { ok: false, problems: [noPerimeterKeyProblem(sellerId)] };
  const problems = [
    ...deliveredBytesProblems(sealed, wanted),
    ...releaseStatementProblems(sealed.release, {
      perimeterKey,
      dealId: sealed.dealId,
      commitment: sealed.commitment,
      ...wanted,
    }),
  ];
  return problems.length === 0 ? { ok: true, statement: sealed.release! } : { ok: false, problems };
}

/**
 * A multi-seller sum: every contributing seller's perimeter must have signed a statement of its own
 * contribution to this deal under these terms, each contribution a different ciphertext. The buyer
 * never sees the contributions (it could decrypt each), so that the sum was made of exactly these is
 * for an auditor to check; what the buyer checks here is that each seller released its part.
 */
export async function checkContributions(
  client: TuskClient,
  sealed: { dealId: string; releases?: ReleaseStatement[] },
  sellerIds: readonly string[],
  operatorKey: string,
  termsHash?: string,
): Promise<{ ok: true } | { ok: false; problems: string[] }> {
  const problems: string[] = [];
  const commitments = new Set<string>();
  for (const sellerId of sellerIds) {
    const statement = (sealed.releases ?? []).find((r) => r.body?.sellerId === sellerId);
    const check = await checkRelease(
      client,
      {
        dealId: sealed.dealId,
        commitment: statement?.body.commitment ?? '',
        ...(statement ? { release: statement } : {}),
      },
      sellerId,
      operatorKey,
      { kind: 'he_contribution', ...(termsHash ? { termsHash } : {}) },
    );
    if (!check.ok) problems.push(...check.problems.map((p) => `seller ${sellerId}: ${p}`));
    else if (commitments.has(check.statement.body.commitment))
      problems.push(`seller ${sellerId}: its contribution is another seller's ciphertext`);
    else commitments.add(check.statement.body.commitment);
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** A grant milestone's last check as the grant's status shows it to its sponsor. */
export interface CheckedMilestone {
  milestoneId: string;
  lastCheck?: { met: boolean; statementHash?: string; release?: ReleaseStatement };
}

/**
 * For a sponsor (or anyone the grant is shown to in full): the milestone's last verdict must be the
 * seller's perimeter's, signed under its logged key, for this grant, milestone and verdict. The grant
 * workflow carries the statement but cannot check it; this is where it is checked.
 */
export async function checkVerdict(
  client: TuskClient,
  grantId: string,
  milestone: CheckedMilestone,
  sellerId: string,
  operatorKey: string,
  termsHash?: string,
): Promise<ReleaseCheck> {
  const check = milestone.lastCheck;
  if (!check) return { ok: false, problems: [`milestone ${milestone.milestoneId} has not been checked`] };
  const checkId = check.release?.body?.subject?.checkId ?? '';
  const perimeterKey = await registeredPerimeterKey(client, sellerId, operatorKey);
  if (!perimeterKey) return { ok: false, problems: [noPerimeterKeyProblem(sellerId)] };
  const problems = releaseStatementProblems(check.release, {
    perimeterKey,
    dealId: grantId,
    kind: 'milestone_verdict',
    commitment: check.statementHash ?? '',
    subject: { milestoneId: milestone.milestoneId, checkId, met: check.met },
    ...(termsHash ? { termsHash } : {}),
  });
  return problems.length === 0 ? { ok: true, statement: check.release! } : { ok: false, problems };
}
