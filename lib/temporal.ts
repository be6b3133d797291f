import { Connection, Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { AesGcmPayloadCodec } from './codec/aes-gcm-codec';
import { historyDataConverter } from './codec/history-codec';

/** A client whose payloads Temporal stores encrypted: there is deliberately no variant without a codec. */
export async function connectClient(
  address: string,
  namespace: string,
  codec: AesGcmPayloadCodec,
): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, dataConverter: historyDataConverter(codec) });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

export const DEALS_TASK_QUEUE = 'deals';
