import { Connection, Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

export const DEALS_TASK_QUEUE = 'deals';
