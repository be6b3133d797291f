import { sumChunks } from './ciphertexts';
import {
  ciphertextBytes,
  ciphertextTexts,
  encodeEnvelope,
  encodingOf,
  limbBitsField,
  type HeVectorEnvelope,
} from './he-result';
import { HE_PARAMETER_ID } from './seal-context';

/** Why contributions cannot be added into one sum: not all for this deal, key and layout. */
export class SumMismatchError extends Error {
  override name = 'SumMismatchError';
}

/**
 * The sum envelope of a multi-seller deal's contributions: their ciphertexts added slot-wise, with
 * what the envelopes say in the clear. The coordinator makes it; an auditor makes it again from the
 * contributions the sellers signed and compares the bytes, since BFV addition and the ciphertext
 * encoding are deterministic. Nothing is decrypted: it needs no key.
 */
export async function sumEnvelope(
  deal: { dealId: string; heKeyRef: string },
  contributions: readonly HeVectorEnvelope[],
): Promise<Buffer> {
  const first = contributions[0];
  if (!first) throw new SumMismatchError('there are no contributions to add');
  for (const envelope of contributions) {
    const fits =
      envelope.kind === 'contribution' &&
      envelope.dealId === deal.dealId &&
      envelope.keyRef === deal.heKeyRef &&
      envelope.groups === first.groups &&
      encodingOf(envelope).limbBits === encodingOf(first).limbBits &&
      envelope.ciphertexts.length === first.ciphertexts.length &&
      envelope.quantities.join() === first.quantities.join();
    if (!fits) throw new SumMismatchError('the contributions are not all for this deal, key and layout');
  }
  const encoding = encodingOf(first);
  if (contributions.length > encoding.maxAddends)
    throw new SumMismatchError(
      `${contributions.length} contributions in ${encoding.limbBits}-bit limbs could wrap: at most ${encoding.maxAddends} add up exactly`,
    );
  const total = await sumChunks(contributions.map(ciphertextBytes));
  return encodeEnvelope({
    kind: 'sum',
    parameters: HE_PARAMETER_ID,
    dealId: deal.dealId,
    keyRef: deal.heKeyRef,
    quantities: first.quantities,
    groups: first.groups,
    ...limbBitsField(encoding),
    contributors: contributions.length,
    ciphertexts: ciphertextTexts(total),
  });
}
