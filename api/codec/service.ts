import { createHash, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { PayloadTamperedError, UnknownCodecKeyError } from '../../lib/codec/aes-gcm-codec';
import { ApiError } from '../errors';
import type { CodecPayloads } from './schemas';

const toPayload = (json: CodecPayloads['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(json.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(json.data ?? '', 'base64'),
});

const toJson = (payload: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Runs the history codec for operator tooling and the Temporal Web UI. */
export class CodecService {
  private readonly tokenDigest: Buffer | undefined;

  constructor(
    private readonly codec: PayloadCodec,
    token: string | undefined,
  ) {
    this.tokenDigest = token ? digest(token) : undefined;
  }

  /** Whether the Web UI's token routes are on (TUSK_CODEC_TOKEN is set). */
  get tokenRouteOn(): boolean {
    return this.tokenDigest !== undefined;
  }

  /** Constant-time: the token is the only thing between a browser and every history's contents. */
  checkToken(presented: string): void {
    if (!this.tokenDigest)
      throw new ApiError(
        'forbidden',
        'the codec endpoint for the Web UI is off (TUSK_CODEC_TOKEN is not set)',
      );
    if (!timingSafeEqual(digest(presented), this.tokenDigest))
      throw new ApiError('forbidden', 'the codec token is not valid');
  }

  async run(direction: 'encode' | 'decode', body: CodecPayloads): Promise<CodecPayloads> {
    const payloads = body.payloads.map(toPayload);
    try {
      const out =
        direction === 'encode' ? await this.codec.encode(payloads) : await this.codec.decode(payloads);
      return { payloads: out.map(toJson) };
    } catch (error) {
      if (error instanceof UnknownCodecKeyError) throw new ApiError('unknown_history_key', error.message);
      if (error instanceof PayloadTamperedError) throw new ApiError('payload_tampered', error.message);
      throw error;
    }
  }
}
