import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A throwaway certificate authority and what it signed, as PEM files in one directory. */
export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The name in the server's certificate (besides 127.0.0.1). */
  serverName: string;
  clientCert: string;
  clientKey: string;
  /** A client pair signed by another CA: a server asking for mTLS must refuse it. */
  strangerCert: string;
  strangerKey: string;
}

/** Made with openssl (EC P-256): a CA, a server certificate for `serverName` and 127.0.0.1, a client certificate. */
export async function makeTestCertificates(
  directory: string,
  serverName = 'temporal.tusk.test',
): Promise<TestCertificates> {
  await mkdir(directory, { recursive: true });
  const file = (name: string) => path.join(directory, name);
  const ca = async (name: string) => {
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${name}.key`)]);
    await openssl([
      ...['req', '-x509', '-new', '-key', file(`${name}.key`), '-sha256', '-days', '2'],
      ...['-subj', `/CN=${name}`, '-out', file(`${name}.pem`)],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ]);
  };
  const leaf = async (name: string, issuer: string, extensions: string) => {
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${name}.key`)]);
    await openssl([
      'req',
      '-new',
      '-key',
      file(`${name}.key`),
      '-subj',
      `/CN=${name}`,
      '-out',
      file(`${name}.csr`),
    ]);
    await writeFile(file(`${name}.ext`), extensions);
    await openssl([
      ...[
        'x509',
        '-req',
        '-in',
        file(`${name}.csr`),
        '-CA',
        file(`${issuer}.pem`),
        '-CAkey',
        file(`${issuer}.key`),
      ],
      ...[
        '-CAcreateserial',
        '-days',
        '2',
        '-sha256',
        '-extfile',
        file(`${name}.ext`),
        '-out',
        file(`${name}.pem`),
      ],
    ]);
  };
  await ca('test-ca');
  await ca('stranger-ca');
  await leaf(
    'server',
    'test-ca',
    `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName},IP:127.0.0.1\n`,
  );
  await leaf('client', 'test-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  await leaf('stranger', 'stranger-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  return {
    caCert: file('test-ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    serverName,
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    strangerCert: file('stranger.pem'),
    strangerKey: file('stranger.key'),
  };
}

async function openssl(args: string[]): Promise<void> {
  const child = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`openssl ${args[0]} failed (exit ${code}): ${stderr.trim()}`);
}
