import type { HeSecretKeyFile } from '../lib/he/buyer-keys';
import { openSelections, openSum } from './he-selection';
import { decodeEnvelope, type HeVectorEnvelope } from '../lib/he/he-result';
import { openResult, type ResultPayload } from '../lib/sealed-result';
import type { ReleaseStatement } from '../lib/release-statement';
import type { TuskClient } from '../lib/tusk-client';
import type { QueryTemplate } from '../query-policies/template';

export interface SealedResult {
  dealId: string;
  resultRef: string;
  commitment: string;
  /** base64: a sealed box (plain answers) or an HE envelope (private selections, multi-seller sums). */
  ciphertext: string;
  /** The seller's perimeter's signed statement of the release (see ./release-check.ts). */
  release?: ReleaseStatement;
  /** A multi-seller sum: each contributing seller's perimeter's statement of its part. */
  releases?: ReleaseStatement[];
}

/** The columns a buyer's tools need to lay out an HE answer: what GET /templates says of a template. */
export type TemplateLayout = Pick<QueryTemplate, 'id' | 'dimensions' | 'metrics' | 'groupDomain'>;

export type OpenedResult =
  | { kind: 'table'; payload: ResultPayload }
  | { kind: 'selection'; answers: Record<string, bigint>[] }
  | {
      kind: 'sum';
      contributors: number;
      groups: ({ group: string[] } & Record<string, bigint | string[]>)[];
    };

export const fetchDealResult = (client: TuskClient, dealId: string, multiSeller = false) =>
  client.get<SealedResult>(
    `/${multiSeller ? 'multi-seller-deals' : 'deals'}/${encodeURIComponent(dealId)}/result`,
  );

/** An HE envelope, or undefined when the bytes are a sealed box. */
export function heEnvelopeOf(bytes: Buffer): HeVectorEnvelope | undefined {
  if (bytes[0] !== 0x7b) return undefined; // '{': envelopes are JSON, sealed boxes are binary
  try {
    return decodeEnvelope(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Opens any answer on the buyer's machine: a sealed table with the X25519 key (the commitment is
 * checked), an HE selection or sum with the BFV secret key.
 */
export async function openAnyResult(
  sealed: SealedResult,
  keys: { resultKeyPem?: string; heSecret?: HeSecretKeyFile },
  template?: TemplateLayout,
): Promise<OpenedResult> {
  const bytes = Buffer.from(sealed.ciphertext, 'base64');
  const envelope = heEnvelopeOf(bytes);
  if (!envelope) {
    if (!keys.resultKeyPem) throw new Error('a sealed answer opens with the result (X25519) key');
    return {
      kind: 'table',
      payload: await openResult(bytes, keys.resultKeyPem, sealed.dealId, sealed.commitment),
    };
  }
  if (!keys.heSecret)
    throw new Error('an encrypted answer opens with the HE secret key (tusk buyer keygen --he)');
  if (!template) throw new Error('an encrypted answer needs its template to lay out the groups');
  const full = template as QueryTemplate;
  if (envelope.kind === 'selection')
    return { kind: 'selection', answers: await openSelections(keys.heSecret, full, envelope) };
  return {
    kind: 'sum',
    contributors: envelope.contributors ?? 1,
    groups: await openSum(keys.heSecret, full, envelope),
  };
}
