import type { RegisteredKeys } from './key-log';
import { signedTermsSchema, termsHashOf, termsSignatureValid } from './signed-terms';

export type SubjectTermsCheck = { ok: true; termsHash: string } | { ok: false; reason: string };

/**
 * Whether `terms` (read from deal `dealId`'s own workflow) are what its buyer signed for that deal:
 * a deal's terms, naming this deal id, with a valid signature, under the key the log registers for
 * the buyer they name. The coordinator refuses a disclosure's subject on this before the disclosure
 * shows a scope (the protection); the API asks the same function before it starts one (a
 * convenience: the auditor hears why at once).
 */
export async function checkSubjectTerms(
  dealId: string,
  terms: unknown,
  keys: RegisteredKeys,
): Promise<SubjectTermsCheck> {
  const refused = (why: string) => ({ ok: false as const, reason: `the terms of deal ${dealId} ${why}` });
  const parsed = signedTermsSchema.safeParse(terms);
  if (!parsed.success) return refused('cannot be read from a deal of that id');
  const signed = parsed.data;
  if (signed.kind !== 'cohort_query' && signed.kind !== 'multi_seller')
    return refused(`are ${signed.kind} terms, not a deal's`);
  if (signed.body.dealId !== dealId) return refused(`name deal ${String(signed.body.dealId)}`);
  if (!termsSignatureValid(signed)) return refused('carry no valid signature');
  const buyer = await keys.currentKey(signed.signer);
  if (!buyer || buyer.role !== 'buyer' || buyer.publicKey !== signed.publicKey)
    return refused(`are not signed by the registered key of buyer ${signed.signer}`);
  return { ok: true, termsHash: termsHashOf(signed) };
}
