import { log } from '@temporalio/activity';
import type { BlobStore } from '../../lib/blob-store';
import { encryptedAnswerCommitment, type ReleaseStatement } from '../../lib/release-statement';
import { heKeyDocument } from '../../lib/he/buyer-keys';
import { encryptChunks, HeKeyError, innerProduct } from '../../lib/he/ciphertexts';
import {
  ciphertextBytes,
  ciphertextTexts,
  decodeEnvelope,
  encodeEnvelope,
  encodingOf,
  limbBitsField,
} from '../../lib/he/he-result';
import { HE_PARAMETER_ID } from '../../lib/he/seal-context';
import {
  encodeValues,
  FOUR_LIMBS,
  limbEncodingFor,
  MAX_SELLERS,
  MAX_VALUE,
  vectorLayout,
  type LimbEncoding,
} from '../../lib/he/vector-layout';
import { termsBodies } from '../../lib/signed-terms';
import type { ParameterValues, QueryTemplate } from '../../query-policies/template';
import type { ReleasedTable } from '../../lib/released-table';
import type { SignedTerms } from '../../lib/signed-terms';
import { refuse } from './refusal';
import { releasedVector } from './released-vector';
import type { ReleaseToSign } from './release-signing';
import type { PrivateSelection } from '../../workflows/deal/shapes';
import type {
  ContributionResult,
  EncryptContributionInput,
  RunApprovedQueryInput,
  RunApprovedQueryResult,
} from './types';

/**
 * The limbs a contribution is encoded in, from the number of sellers the buyer signed for (the
 * terms' signature is already verified): the coordinator can add at most that many contributions,
 * so no limb sum it makes can wrap, whatever it is asked to add (the sum refuses more, too).
 */
function contributionEncoding(terms: SignedTerms): LimbEncoding {
  const body = termsBodies.multi_seller.safeParse(terms.body);
  if (!body.success) refuse('TermsSignatureInvalid', 'a contribution needs signed multi-seller terms');
  const sellers = new Set(body.data.sellers.map((seller) => seller.sellerId)).size;
  if (sellers > MAX_SELLERS)
    refuse('TooManySellers', `the terms name ${sellers} sellers; at most ${MAX_SELLERS} are summed exactly`);
  return limbEncodingFor(sellers);
}

export interface ReleaseInput {
  dealId: string;
  buyerId: string;
  /** The signed terms: the reservation and stored answer are bound to their hash. */
  terms: SignedTerms;
  templateId: string;
  templateHash: string;
  parameters: ParameterValues;
}

export interface Release {
  template: QueryTemplate;
  parameters: ParameterValues;
  table: ReleasedTable;
  repeat: boolean;
  epsilonSpent: number;
}

/**
 * Encrypted answers from the released table (threshold and noise already applied, budget charged
 * once by the same release path as a sealed answer).
 *
 * Private selection — what each party learns:
 * - the seller's perimeter sees the buyer's selection only as BFV ciphertexts under the buyer's
 *   key: it computes ciphertext × plaintext and rotation sums without learning which groups were
 *   chosen; it knows how many selections were bought (the price says so anyway);
 * - the operator (API, Temporal, coordinator, blob store) sees blob references and ciphertexts;
 * - the buyer decrypts one inner product per selection: the selected groups' released (noisy)
 *   counts and sums, nothing else. A buyer who encodes weights other than 0/1 gets a weighted sum
 *   of released numbers instead: still only post-processing of the DP release, so no person's
 *   privacy is weakened; it is one number per quantity per selection paid for.
 * Multi-seller contribution: the seller's released vector over the template's declared domain,
 * encrypted to the buyer's key; only the coordinator's sum of at least two of them is delivered.
 */
export function createHeAnswers(deps: {
  blobs: BlobStore;
  releaseFor: (input: ReleaseInput) => Promise<Release>;
  sign: (release: ReleaseToSign) => Promise<ReleaseStatement>;
}) {
  async function loadBlob(ref: string, what: string) {
    try {
      return await deps.blobs.get(ref);
    } catch {
      refuse(what === 'selection' ? 'InvalidSelection' : 'InvalidBuyerKey', `no readable ${what} at ${ref}`);
    }
  }

  async function heKey(ref: string) {
    let document;
    try {
      document = heKeyDocument.parse(JSON.parse((await deps.blobs.get(ref)).toString('utf8')));
    } catch {
      refuse('InvalidBuyerKey', `no BFV key document for ${HE_PARAMETER_ID} at ${ref}`);
    }
    return document;
  }

  function encodeOrRefuse(template: QueryTemplate, table: ReleasedTable, encoding: LimbEncoding) {
    const vector = releasedVector(template, table);
    if (vector.values.some((row) => row.some((value) => value > MAX_VALUE)))
      refuse('QueryFailed', 'a released number is too large to encode');
    const layout = vectorLayout(vector.values.length, vector.quantities.length, encoding);
    return { ...vector, layout, plain: encodeValues(layout, vector.values) };
  }

  async function runPrivateSelection(
    input: RunApprovedQueryInput,
    selection: PrivateSelection,
  ): Promise<RunApprovedQueryResult> {
    const key = await heKey(selection.heKeyRef);
    const selections = await Promise.all(selection.selectionRefs.map((ref) => loadBlob(ref, 'selection')));
    const release = await deps.releaseFor(input);
    if (!release.template.privateSelection)
      refuse(
        'PrivateSelectionNotAllowed',
        `template ${release.template.id} does not offer private selection`,
      );
    const { layout, plain, quantities } = encodeOrRefuse(release.template, release.table, FOUR_LIMBS);
    const galoisKeys = await loadBlob(key.galoisKeysRef, 'Galois key');
    const publicKey = await loadBlob(key.publicKeyRef, 'public key');
    const answers: Uint8Array[] = [];
    for (const bytes of selections) {
      let envelope;
      try {
        envelope = decodeEnvelope(bytes);
      } catch {
        refuse('InvalidSelection', 'a selection is not an encrypted selection vector');
      }
      if (
        envelope.keyRef !== selection.heKeyRef ||
        envelope.groups !== layout.groups ||
        encodingOf(envelope).limbBits !== layout.limbBits
      )
        refuse(
          'InvalidSelection',
          `a selection is not over this template's ${layout.groups} groups under the deal's key`,
        );
      try {
        answers.push(await innerProduct(layout, ciphertextBytes(envelope), plain, galoisKeys, publicKey));
      } catch (error) {
        if (error instanceof HeKeyError) refuse('InvalidSelection', error.message);
        throw error;
      }
    }
    const envelope = encodeEnvelope({
      kind: 'selection',
      parameters: HE_PARAMETER_ID,
      dealId: input.dealId,
      keyRef: selection.heKeyRef,
      quantities,
      groups: layout.groups,
      ciphertexts: ciphertextTexts(answers),
    });
    const resultRef = await deps.blobs.put(envelope);
    const commitment = encryptedAnswerCommitment(resultRef);
    const statement = await deps.sign({
      kind: 'he_selection',
      dealId: input.dealId,
      terms: input.terms,
      commitment,
      epsilonSpent: release.epsilonSpent,
      template: release.template,
    });
    log.info('private selection answered', { dealId: input.dealId, selections: answers.length });
    return {
      resultRef,
      commitment,
      epsilonSpent: release.epsilonSpent,
      repeat: release.repeat,
      release: statement,
    };
  }

  async function encryptContribution(input: EncryptContributionInput): Promise<ContributionResult> {
    // Before any budget is charged: a deal too wide to sum exactly is refused for nothing.
    const encoding = contributionEncoding(input.terms);
    const key = await heKey(input.heKeyRef);
    const publicKey = await loadBlob(key.publicKeyRef, 'public key');
    const release = await deps.releaseFor(input);
    if (!release.template.multiSeller)
      refuse('MultiSellerNotAllowed', `template ${release.template.id} is not offered for multi-seller sums`);
    const { layout, plain, quantities } = encodeOrRefuse(release.template, release.table, encoding);
    let ciphertexts;
    try {
      ciphertexts = await encryptChunks(publicKey, plain);
    } catch (error) {
      if (error instanceof HeKeyError) refuse('InvalidBuyerKey', error.message);
      throw error;
    }
    const contributionRef = await deps.blobs.put(
      encodeEnvelope({
        kind: 'contribution',
        parameters: HE_PARAMETER_ID,
        dealId: input.dealId,
        keyRef: input.heKeyRef,
        quantities,
        groups: layout.groups,
        ...limbBitsField(encoding),
        ciphertexts: ciphertextTexts(ciphertexts),
      }),
    );
    // Each seller signs its own contribution: the buyer and auditors see which ciphertexts were summed.
    const statement = await deps.sign({
      kind: 'he_contribution',
      dealId: input.dealId,
      terms: input.terms,
      commitment: encryptedAnswerCommitment(contributionRef),
      epsilonSpent: release.epsilonSpent,
      template: release.template,
    });
    log.info('multi-seller contribution encrypted', { dealId: input.dealId, chunks: ciphertexts.length });
    return {
      contributionRef,
      epsilonSpent: release.epsilonSpent,
      repeat: release.repeat,
      release: statement,
    };
  }

  return { runPrivateSelection, encryptContribution };
}
