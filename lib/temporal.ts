import { readFileSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection, type TLSConfig } from '@temporalio/worker';
import { z } from 'zod';
import type { AesGcmPayloadCodec } from './codec/aes-gcm-codec';
import { historyDataConverter } from './codec/history-codec';

/**
 * How a process proves itself to Temporal and checks Temporal's identity: TLS with a private CA,
 * a client certificate (mTLS, as self-hosted clusters ask) or an API key (as Temporal Cloud asks).
 * The variable names are the ones Temporal's own environment configuration uses.
 */
export interface TemporalSecurity {
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const securityEnv = z
  .object({
    /** `true` turns TLS on with the system's roots; any of the files below also turns it on. */
    TEMPORAL_TLS: flag.optional(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
    /** The name the server's certificate carries, when it differs from the address's host. */
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
  })
  .refine((env) => !env.TEMPORAL_TLS_CLIENT_CERT_PATH === !env.TEMPORAL_TLS_CLIENT_KEY_PATH, {
    message: 'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together',
  });

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The TLS and API key settings from the environment; plaintext when none is set (a local dev server). */
export function temporalSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSecurity {
  const nonEmpty = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = securityEnv.safeParse(nonEmpty);
  if (!parsed.success) {
    throw new Error(`invalid Temporal TLS settings:\n${z.prettifyError(parsed.error)}`);
  }
  const settings = parsed.data;
  const tls: TLSConfig = {
    ...(settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH
      ? {
          serverRootCACertificate: readPem(
            settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            'server CA certificate',
          ),
        }
      : {}),
    ...(settings.TEMPORAL_TLS_CLIENT_CERT_PATH && settings.TEMPORAL_TLS_CLIENT_KEY_PATH
      ? {
          clientCertPair: {
            crt: readPem(settings.TEMPORAL_TLS_CLIENT_CERT_PATH, 'client certificate'),
            key: readPem(settings.TEMPORAL_TLS_CLIENT_KEY_PATH, 'client key'),
          },
        }
      : {}),
    ...(settings.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: settings.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  const configured = Object.keys(tls).length > 0;
  if (settings.TEMPORAL_TLS === false && configured)
    throw new Error('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings that are set');
  // Left unset, the SDK turns TLS on when an API key is given (a bearer token needs it).
  const tlsOption = configured ? tls : settings.TEMPORAL_TLS;
  return {
    ...(tlsOption !== undefined ? { tls: tlsOption } : {}),
    ...(settings.TEMPORAL_API_KEY ? { apiKey: settings.TEMPORAL_API_KEY } : {}),
  };
}

/** A client whose payloads Temporal stores encrypted: there is deliberately no variant without a codec. */
export async function connectClient(
  address: string,
  namespace: string,
  codec: AesGcmPayloadCodec,
  security: TemporalSecurity = temporalSecurityFromEnv(),
): Promise<Client> {
  const connection = await Connection.connect({ address, ...security });
  return new Client({ connection, namespace, dataConverter: historyDataConverter(codec) });
}

export function connectWorker(
  address: string,
  security: TemporalSecurity = temporalSecurityFromEnv(),
): Promise<NativeConnection> {
  return NativeConnection.connect({ address, ...security });
}

/** Named in ./task-queues.ts with every other queue; here too, for the many callers that start a workflow. */
export { DEALS_TASK_QUEUE } from './task-queues';
