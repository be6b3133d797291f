import { join } from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { tuskHome } from '../env';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { loadCodecKeyring, type KeySource } from './keyring';

/**
 * The keys come from `TUSK_CODEC_KEYS` (JSON `{ id: base64 }`) or the key file `TUSK_CODEC_KEY_FILE`
 * (default `$TUSK_HOME/codec-keys.json`), never from Temporal. With neither, a local run gets a
 * generated development key in the key file; under NODE_ENV=production a missing key is an error.
 */
export function historyKeySource(env: NodeJS.ProcessEnv = process.env): KeySource {
  return {
    keysJson: env.TUSK_CODEC_KEYS || undefined,
    keyFile: env.TUSK_CODEC_KEY_FILE || join(tuskHome(), 'codec-keys.json'),
    generateIfMissing: env.NODE_ENV !== 'production',
  };
}

export async function loadHistoryCodec(source: KeySource = historyKeySource()): Promise<AesGcmPayloadCodec> {
  return new AesGcmPayloadCodec(await loadCodecKeyring(source));
}

/** What every Temporal client, worker and replay uses: payloads and failure details encrypted. */
export function historyDataConverter(codec: AesGcmPayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: join(__dirname, 'failure-converter.cjs') };
}
