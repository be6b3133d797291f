import type { Payload, PayloadCodec } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../lib/codec/aes-gcm-codec';
import { CodecKeyring, newKeyFileJson } from '../../lib/codec/keyring';

/** A codec under a fresh key, for suites that talk to Temporal without a whole deployment. */
export const freshHistoryCodec = (keyId = 'test-1') =>
  new AesGcmPayloadCodec(CodecKeyring.fromJson(newKeyFileJson(keyId), keyId));

type JsonPayload = { metadata: Record<string, string>; data?: string };
const isPayload = (value: object): value is JsonPayload =>
  'metadata' in value &&
  typeof value.metadata === 'object' &&
  value.metadata !== null &&
  'encoding' in value.metadata;

/**
 * A history in JSON (the SDK's or `temporal workflow show -o json`: bytes as base64) with every
 * payload run through the codec, as the Web UI shows it through the codec endpoint.
 */
export async function decodeHistoryJson(history: unknown, codec: PayloadCodec): Promise<unknown> {
  const walk = async (value: unknown): Promise<unknown> => {
    if (Array.isArray(value)) return Promise.all(value.map(walk));
    if (typeof value !== 'object' || value === null) return value;
    if (isPayload(value)) {
      const payload: Payload = {
        metadata: Object.fromEntries(
          Object.entries(value.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
        ),
        data: Buffer.from(value.data ?? '', 'base64'),
      };
      const [decoded] = await codec.decode([payload]);
      return {
        metadata: Object.fromEntries(
          Object.entries(decoded!.metadata ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v ?? []).toString('base64'),
          ]),
        ),
        data: Buffer.from(decoded!.data ?? []).toString('base64'),
      };
    }
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await walk(v)] as const),
    );
    return Object.fromEntries(entries);
  };
  return walk(JSON.parse(JSON.stringify(history)));
}

/** The JSON text plus every payload's bytes as text: what a search for values in clear must cover. */
export function searchableText(historyJson: unknown): string {
  const text = JSON.stringify(historyJson);
  const payloads = [...text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('latin1'),
  );
  return `${text}\n${payloads.join('\n')}`;
}
