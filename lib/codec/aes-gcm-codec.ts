import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { CodecKeyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const text = new TextEncoder();
const utf8 = (bytes: Uint8Array | null | undefined) =>
  Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

/** A payload encrypted under a key this process does not hold: say which, and where keys come from. */
export class UnknownCodecKeyError extends Error {
  override name = 'UnknownCodecKeyError';
  constructor(
    readonly keyId: string,
    known: string[],
  ) {
    super(
      `payload is encrypted under history key "${keyId}", which this process does not hold ` +
        `(it holds: ${known.join(', ')}); add that key to TUSK_CODEC_KEYS or the codec key file`,
    );
  }
}

export class PayloadTamperedError extends Error {
  override name = 'PayloadTamperedError';
}

/** The whole payload, metadata included, so its encoding (and so its type) is hidden as well. */
function serialise(payload: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  );
  return Buffer.from(JSON.stringify({ metadata, data: Buffer.from(payload.data ?? []).toString('base64') }));
}

function deserialise(bytes: Buffer): Payload {
  const { metadata, data } = JSON.parse(bytes.toString('utf8')) as {
    metadata: Record<string, string>;
    data: string;
  };
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data, 'base64'),
  };
}

/**
 * AES-256-GCM over each whole payload. The key id travels in clear metadata and is bound into the
 * tag as associated data, so relabelling a payload with another key id fails like any other tamper.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(readonly keyring: CodecKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.encryptingKeyId;
    const key = this.keyring.key(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(keyId));
      const sealed = Buffer.concat([cipher.update(serialise(payload)), cipher.final()]);
      return {
        metadata: { encoding: text.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: text.encode(keyId) },
        data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Search attributes and payloads written before the codec was on stay as they are.
      if (utf8(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = utf8(payload.metadata?.[KEY_ID_METADATA]);
      const key = this.keyring.key(keyId);
      if (!key) throw new UnknownCodecKeyError(keyId, this.keyring.ids);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES)
        throw new PayloadTamperedError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      try {
        return deserialise(
          Buffer.concat([
            decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
            decipher.final(),
          ]),
        );
      } catch {
        throw new PayloadTamperedError(
          `encrypted payload under key "${keyId}" does not authenticate: altered, or a different key with the same id`,
        );
      }
    });
  }
}
