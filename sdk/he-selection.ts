import { domainGroups, encodedQuantities, groupKey } from '../query-policies/group-domain';
import type { QueryTemplate } from '../query-policies/template';
import type { HeSecretKeyFile } from '../lib/he/buyer-keys';
import { encryptChunks, HeKeyError } from '../lib/he/ciphertexts';
import { ciphertextTexts, encodeEnvelope, encodingOf, type HeVectorEnvelope } from '../lib/he/he-result';
import { openHeVector } from '../lib/he/open-result';
import { HE_PARAMETER_ID } from '../lib/he/seal-context';
import {
  decodeInnerProduct,
  decodeValues,
  FOUR_LIMBS,
  selectionVector,
  vectorLayout,
  type LimbEncoding,
} from '../lib/he/vector-layout';

const layoutOf = (template: QueryTemplate, encoding: LimbEncoding = FOUR_LIMBS) =>
  vectorLayout(domainGroups(template).length, encodedQuantities(template).length, encoding);

/** A group's position in the template's declared domain, by its dimension values. */
export function groupIndex(template: QueryTemplate, cells: readonly string[]): number {
  const at = domainGroups(template).findIndex((group) => groupKey(group) === groupKey(cells));
  if (at < 0) throw new Error(`${cells.join('/')} is not a group of template ${template.id}`);
  return at;
}

/**
 * The buyer's encrypted selections, one blob each: a 0/1 vector over the template's groups with one
 * group chosen, encrypted on the buyer's machine to its own key. Nobody else can tell which.
 */
export async function encryptSelections(
  secret: HeSecretKeyFile,
  template: QueryTemplate,
  chosen: readonly (readonly string[])[],
): Promise<Buffer[]> {
  const layout = layoutOf(template);
  const publicKey = new Uint8Array(Buffer.from(secret.publicKey, 'base64'));
  return Promise.all(
    chosen.map(async (cells) =>
      encodeEnvelope({
        kind: 'selection',
        parameters: HE_PARAMETER_ID,
        dealId: 'selection',
        keyRef: secret.keyRef,
        quantities: encodedQuantities(template),
        groups: layout.groups,
        ciphertexts: ciphertextTexts(
          await encryptChunks(publicKey, selectionVector(layout, [groupIndex(template, cells)])),
        ),
      }),
    ),
  );
}

/** Each selection's decrypted quantities (name → value), in the order the selections were sent. */
export async function openSelections(
  secret: HeSecretKeyFile,
  template: QueryTemplate,
  envelope: HeVectorEnvelope,
) {
  // Selections are always made and answered in four limbs (a selection adds one seller's groups).
  if (encodingOf(envelope).limbBits !== FOUR_LIMBS.limbBits)
    throw new HeKeyError(`a selection answer in ${envelope.limbBits}-bit limbs is not one a perimeter makes`);
  const layout = layoutOf(template);
  const { slots } = await openHeVector(secret, envelope);
  return slots.map((answer) => {
    const values = decodeInnerProduct(layout, answer);
    return Object.fromEntries(envelope.quantities.map((name, i) => [name, values[i]!]));
  });
}

/** A multi-seller sum, decrypted: the groups that are not all zero, with their summed quantities. */
export async function openSum(secret: HeSecretKeyFile, template: QueryTemplate, envelope: HeVectorEnvelope) {
  const encoding = encodingOf(envelope);
  // A sum of more vectors than its limbs carry may have wrapped modulo t: refused, not misread.
  if ((envelope.contributors ?? 1) > encoding.maxAddends)
    throw new HeKeyError(
      `this sum adds ${envelope.contributors} vectors in ${encoding.limbBits}-bit limbs, which carry at most ${encoding.maxAddends} exactly`,
    );
  const layout = layoutOf(template, encoding);
  const { slots } = await openHeVector(secret, envelope);
  const groups = domainGroups(template);
  return decodeValues(layout, slots).flatMap((values, index) =>
    values.some((value) => value !== 0n)
      ? [
          {
            group: groups[index]!,
            ...Object.fromEntries(envelope.quantities.map((name, i) => [name, values[i]!])),
          },
        ]
      : [],
  );
}
