import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { KeyHistory, RegisteredKeys, ReleaseLog } from '../../lib/key-log';
import { perimeterKeyOfRelease } from './release-key';
import { releaseStatementProblems, type ReleaseKind } from '../../lib/release-statement';
import { decisionMismatch, decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { SettlementRefusedError, type SettlementRefusal } from './port';
import { signedEscrowOf, WHOLE } from './signed-payment';
import { parseEscrowId } from '../../lib/ids/escrow-ids';

/**
 * When settlement was first shown a delivery, per escrow: its own clock, written once. A deal the
 * buyer did not confirm is paid only once the buyer's signed acceptance window has passed since then.
 *
 * Why settlement's record and not a time someone hands it: the operator starts workflows and could
 * hand any time; the seller's perimeter could sign one, but the seller is the party the early payout
 * favours. Settlement records a delivery only when shown the perimeter's signed release statement for
 * this deal and these terms, so the record is never earlier than the release itself; and it is never
 * moved (a later report keeps the first time), so the window cannot be restarted or shortened.
 */
export class DeliveryRecords {
  constructor(readonly directory: string) {}

  private pathOf(escrowId: string): string {
    const key = createHash('sha256').update(escrowId).digest('hex');
    return join(this.directory, key.slice(0, 2), `${key}.delivered.json`);
  }

  async deliveredAt(escrowId: string): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(escrowId), 'utf8');
    } catch {
      return undefined;
    }
    return record.parse(JSON.parse(text)).deliveredAt;
  }

  /** The first time recorded for the escrow; `now` only when there is none yet (exclusive create). */
  async recordOnce(escrowId: string, now: number): Promise<number> {
    const path = this.pathOf(escrowId);
    await mkdir(join(path, '..'), { recursive: true });
    try {
      await writeFile(path, JSON.stringify({ escrowId, deliveredAt: now }), { flag: 'wx', flush: true });
      return now;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const first = await this.deliveredAt(escrowId);
      if (first === undefined)
        throw new Error(`the delivery record of ${escrowId} cannot be read`, { cause: error });
      return first;
    }
  }
}

const record = z.object({ escrowId: z.string(), deliveredAt: z.number().int() });

const refused = (code: SettlementRefusal, reason: string) => new SettlementRefusedError(code, reason);

/** What the perimeter must have signed for each escrow kind to count as delivered. */
const DELIVERED_KINDS: Record<string, readonly ReleaseKind[]> = {
  deal: ['sealed_table', 'he_selection'],
  share: ['he_contribution'],
};

export interface RecordDeliveryInput {
  /** The escrow id (`deal:…` or `share:…`). */
  dealId: string;
  terms: SignedTerms;
  /** The seller's perimeter's signed statement of what it released for these terms. */
  release: unknown;
}

/**
 * Records when settlement was shown the delivery of one escrow's deal: only with the payee's
 * perimeter's signed release statement for this deal id and the hash of these (verified) terms, under
 * the perimeter key the transparency log registered for that seller when the release took effect: at
 * the release's own leaf in the log (./release-key.ts), so a seller that rotated its perimeter key
 * since is still paid, and a retired key's fresh release is refused.
 */
export async function recordDelivery(
  input: RecordDeliveryInput,
  deps: { keys: RegisteredKeys & Partial<KeyHistory & ReleaseLog>; records: DeliveryRecords; now: number },
): Promise<{ deliveredAt: number }> {
  const signed = signedEscrowOf(input.terms, input.dealId);
  const kind = parseEscrowId(input.dealId)?.kind ?? '';
  const kinds = DELIVERED_KINDS[kind];
  if (!kinds) throw refused('TermsMismatch', `an escrow of kind ${kind} has no acceptance window`);
  const sellerId = signed.payouts.get(WHOLE)!.payeeId;
  const termsHash = termsHashOf(input.terms);
  const dealId = String(input.terms.body.dealId);
  const perimeter = await perimeterKeyOfRelease(deps.keys, {
    sellerId,
    dealId,
    termsHash,
    statement: input.release,
  });
  if (!perimeter)
    throw refused('ReleaseUnsigned', `the transparency log registers no perimeter key for ${sellerId}`);
  const statement = input.release as { body?: { kind?: unknown; sellerId?: unknown; commitment?: unknown } };
  const problems = releaseStatementProblems(input.release, {
    perimeterKey: perimeter.publicKey,
    dealId,
    commitment: String(statement?.body?.commitment),
    termsHash,
  });
  if (statement?.body?.sellerId !== sellerId) problems.push(`it is not seller ${sellerId}'s release`);
  if (!kinds.includes(statement?.body?.kind as ReleaseKind))
    problems.push(`a ${String(statement?.body?.kind)} release does not deliver a ${kind} escrow`);
  if (problems.length > 0)
    throw refused('ReleaseUnsigned', `no delivery is recorded: ${problems.join('; ')}`);
  return { deliveredAt: await deps.records.recordOnce(input.dealId, deps.now) };
}

/** The run that asks settlement to pay (Temporal tells the activity which run scheduled it). */
export interface AskingRun {
  workflowId: string;
  runId: string;
}

/**
 * A whole payout to the seller needs the buyer's consent: its signed confirmation of this deal, on the
 * run that pays, under the buyer's logged key; or, without one, the signed acceptance window elapsed
 * since settlement recorded the delivery. An operator who ends the workflow's window early (a deal
 * started with a tiny timeout) gets the payout refused until the buyer's window has really passed.
 */
export async function requireBuyerConsent(
  input: { dealId: string; terms: SignedTerms; confirmation?: SignedDecision; release?: unknown },
  deps: {
    keys: RegisteredKeys & Partial<KeyHistory & ReleaseLog>;
    records: DeliveryRecords;
    now: number;
    asking?: AskingRun;
  },
): Promise<void> {
  const signed = signedEscrowOf(input.terms, input.dealId);
  if (signed.acceptanceWindowMs === undefined) return;
  if (input.confirmation !== undefined) return requireConfirmation(input.confirmation, input.terms, deps);
  // A delivery never recorded (settlement was down when it was reported) is recorded now, from the
  // release statement the payout carries: the window then runs from now, and a later retry pays.
  if (input.release !== undefined && (await deps.records.deliveredAt(input.dealId)) === undefined)
    await recordDelivery({ dealId: input.dealId, terms: input.terms, release: input.release }, deps);
  const deliveredAt = await deps.records.deliveredAt(input.dealId);
  if (deliveredAt === undefined)
    throw refused(
      'AcceptanceWindowOpen',
      'the buyer did not confirm and settlement was never shown the delivery: nothing is paid',
    );
  const endsAt = deliveredAt + signed.acceptanceWindowMs;
  if (deps.now < endsAt)
    throw refused(
      'AcceptanceWindowOpen',
      `the buyer did not confirm, and its signed acceptance window is open until ${new Date(endsAt).toISOString()}: nothing is paid before`,
    );
}

/**
 * The buyer's `deal_confirmation`, checked as the coordinator checks it for the workflow: bound to the
 * run that pays, to this deal and the hash of these terms, signed by the payer under its logged key.
 * Its expiry bounded when the workflow could count it, not the payout that follows (which an
 * operator may retry later): the signature is the buyer's acceptance either way.
 */
async function requireConfirmation(
  confirmation: SignedDecision,
  terms: SignedTerms,
  deps: { keys: RegisteredKeys; asking?: AskingRun },
): Promise<void> {
  const statement = confirmation?.statement;
  const refuse = (why: string): never => {
    throw refused('ConfirmationInvalid', `the buyer's confirmation is refused: ${why}`);
  };
  if (!statement || typeof confirmation.signature !== 'string') return refuse('it is not signed');
  if (!deps.asking) return refuse('settlement cannot tell which run asks');
  const mismatch = decisionMismatch(
    statement,
    {
      scope: { ...deps.asking, subject: { id: String(terms.body.dealId), termsHash: termsHashOf(terms) } },
      action: 'deal_confirmation',
      principal: terms.signer,
      content: {},
    },
    // Any time before its expiry: see above.
    typeof statement.notAfter === 'number' ? statement.notAfter - 1 : Number.NaN,
  );
  if (mismatch) refuse(mismatch);
  const buyer = await deps.keys.currentKey(terms.signer);
  if (!buyer || buyer.role !== 'buyer') refuse(`${terms.signer} is not a registered buyer`);
  if (!decisionSignatureValid(buyer!.publicKey, confirmation))
    refuse(`the signature is not ${terms.signer}'s registered key's`);
}
