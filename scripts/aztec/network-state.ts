import { join, resolve } from 'node:path';

/** Where npm run aztec:up keeps the network's log and the record aztec:down reads. */
export const NETWORK_DIR = resolve(__dirname, '../../.tusk/aztec-network');
export const NETWORK_STATE = join(NETWORK_DIR, 'network.json');

export interface NetworkState {
  pid: number;
  url: string;
  anvilPort: number;
  startedAt: string;
  startupSeconds: number;
}
