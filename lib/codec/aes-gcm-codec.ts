import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import type { CodecKeyring } from './keyring';
import { bindingOf, describeBinding, sameBinding, type PayloadBinding } from './payload-binding';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
/** Absent on payloads of version 1 (key id bound, place not bound), which stay decodable. */
export const VERSION_METADATA = 'encryption-version';
const VERSION_2 = 2;

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

/** A genuine payload of one workflow (or activity) presented as another's. */
export class PayloadMisplacedError extends PayloadTamperedError {
  override name = 'PayloadMisplacedError';
}

/** Handed to a workflow or an activity in clear: whoever wrote it held no history key. */
export class UnencryptedPayloadError extends Error {
  override name = 'UnencryptedPayloadError';
}

/** Version 2 authenticates its version byte and key id as associated data. */
const associatedData = (version: number, keyId: string) =>
  version === VERSION_2 ? Buffer.from(`tusk history codec v${version}\0${keyId}`) : Buffer.from(keyId);

/**
 * The whole payload, metadata included, so its encoding (and so its type) is hidden as well, and
 * (version 2) where it belongs: inside the authenticated plaintext, so a decoder without Temporal's
 * context (the Web UI's codec endpoint, an audit export) can still decode it and read where it was.
 */
function serialise(payload: Payload, bound: PayloadBinding | null): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  );
  return Buffer.from(
    JSON.stringify({ metadata, data: Buffer.from(payload.data ?? []).toString('base64'), bound }),
  );
}

function deserialise(bytes: Buffer): { payload: Payload; bound: PayloadBinding | null } {
  const { metadata, data, bound } = JSON.parse(bytes.toString('utf8')) as {
    metadata: Record<string, string>;
    data: string;
    bound?: PayloadBinding | null;
  };
  return {
    payload: {
      metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(data, 'base64'),
    },
    bound: bound ?? null,
  };
}

export interface CodecOptions {
  /** Let an unencrypted payload through to a workflow or activity: tests of old fixtures only. */
  allowPlaintext?: boolean;
}

/**
 * AES-256-GCM over each whole payload. The key id travels in clear metadata and is bound into the
 * tag as associated data, so relabelling a payload with another key id fails like any other tamper.
 * Version 2 also seals where the payload belongs (the workflow id and its place there, from the
 * SDK's serialization context), and a decode that has a context refuses a payload sealed for
 * another one, and refuses a payload in clear.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(
    readonly keyring: CodecKeyring,
    private readonly options: CodecOptions = {},
  ) {}

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const keyId = this.keyring.encryptingKeyId;
    const key = this.keyring.key(keyId)!;
    const bound = bindingOf(context) ?? null;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(associatedData(VERSION_2, keyId));
      const sealed = Buffer.concat([cipher.update(serialise(payload, bound)), cipher.final()]);
      return {
        metadata: {
          encoding: text.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: text.encode(keyId),
          [VERSION_METADATA]: text.encode(String(VERSION_2)),
        },
        data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const expected = bindingOf(context);
    return payloads.map((payload) => {
      if (utf8(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) {
        // Read-only tools (the codec endpoint, audit exports) also meet search attributes here.
        if (!expected || this.options.allowPlaintext) return payload;
        throw new UnencryptedPayloadError(
          `a payload for ${describeBinding(expected)} is not encrypted: nobody holding the history keys wrote it`,
        );
      }
      const { payload: decoded, bound, version } = this.open(payload);
      if (expected && version === VERSION_2 && !sameBinding(bound, expected))
        throw new PayloadMisplacedError(
          `a payload sealed for ${describeBinding(bound)} was presented to ${describeBinding(expected)}`,
        );
      return decoded;
    });
  }

  /** Decrypts one payload and says where it was sealed for (null: version 1, or no context). */
  open(payload: Payload): { payload: Payload; bound: PayloadBinding | null; version: number } {
    const keyId = utf8(payload.metadata?.[KEY_ID_METADATA]);
    const version = Number(utf8(payload.metadata?.[VERSION_METADATA]) || '1');
    const key = this.keyring.key(keyId);
    if (!key) throw new UnknownCodecKeyError(keyId, this.keyring.ids);
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadTamperedError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(associatedData(version, keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadTamperedError(
        `encrypted payload under key "${keyId}" does not authenticate: altered, or a different key with the same id`,
      );
    }
    const opened = deserialise(plain);
    return { ...opened, bound: version === VERSION_2 ? opened.bound : null, version };
  }
}
