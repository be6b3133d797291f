import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';

import { installWithAptGet } from '../../stack/redis-server';
import { freeLoopbackPorts, spawnService, stopService, waitUntilReady } from '../../stack/launcher';
import { findOnPath, isExecutable } from '../../stack/temporal-cli';

type Log = (line: string) => void;

/**
 * HAProxy from Debian: installed with apt-get the first time when running as root. Not stunnel:
 * stunnel 5.68 cannot answer ALPN, and Temporal's Rust core client (tonic) refuses a TLS session
 * that did not agree on `h2` (H2NotNegotiated); HAProxy's `alpn h2` does.
 */
export async function findOrInstallHaproxy(log: Log): Promise<string> {
  const found = await findHaproxy();
  if (found) return found;
  const canApt =
    process.getuid?.() === 0 && existsSync('/etc/debian_version') && (await findOnPath('apt-get'));
  if (!canApt) throw new Error('no haproxy found: install it (e.g. apt-get install haproxy)');
  log('haproxy: installing haproxy with apt-get (first time only)…');
  await installWithAptGet('haproxy');
  const installed = await findHaproxy();
  if (!installed) throw new Error('apt-get installed haproxy but it is neither on PATH nor in /usr/sbin');
  return installed;
}

async function findHaproxy(): Promise<string | undefined> {
  const onPath = await findOnPath('haproxy');
  if (onPath) return onPath;
  return (await isExecutable('/usr/sbin/haproxy')) ? '/usr/sbin/haproxy' : undefined;
}

export interface TlsTerminator {
  /** host:port that speaks TLS and forwards the plaintext stream to the target. */
  address: string;
  stop(): Promise<void>;
}

/**
 * A TLS terminator in front of a plaintext TCP service (here Temporal's dev server, which has no
 * TLS of its own). It offers ALPN `h2`, as gRPC clients require, and forwards the bytes: HTTP/2
 * passes through unchanged. With `clientCa`, a client must present a certificate that CA signed (mTLS).
 */
export async function startTlsTerminator(opts: {
  target: string;
  cert: string;
  key: string;
  clientCa?: string;
  dataDir: string;
  name?: string;
  log?: Log;
}): Promise<TlsTerminator> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const haproxy = await findOrInstallHaproxy(log);
  const [port] = await freeLoopbackPorts(1);
  const name = opts.name ?? 'tls-terminator';
  const address = `127.0.0.1:${port}`;
  // HAProxy reads the certificate and its key from one file.
  const bundle = path.join(opts.dataDir, `${name}-server.pem`);
  await writeFile(bundle, `${await readFile(opts.cert, 'utf8')}${await readFile(opts.key, 'utf8')}`, {
    mode: 0o600,
  });
  const config = path.join(opts.dataDir, `${name}.cfg`);
  const clientCheck = opts.clientCa ? ` ca-file ${opts.clientCa} verify required` : '';
  await writeFile(
    config,
    [
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      // Temporal's long polls last about a minute: idle timeouts must be longer.
      '  timeout client 10m',
      '  timeout server 10m',
      'frontend tls',
      `  bind ${address} ssl crt ${bundle} alpn h2${clientCheck}`,
      '  default_backend plaintext',
      'backend plaintext',
      `  server target ${opts.target}`,
      '',
    ].join('\n'),
  );
  const service = spawnService(name, address, haproxy, opts.dataDir, ['-db', '-f', config]);
  await waitUntilReady(service, 'TLS terminator', 20_000, log, (target) => portAccepts(target));
  return { address, stop: () => stopService(service) };
}

function portAccepts(address: string): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port) }, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
