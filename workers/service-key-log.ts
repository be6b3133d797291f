import { z } from 'zod';
import {
  loadOrMakeSigningKey,
  serviceIdentity,
  TransparencyKeyLog,
  type OperatorService,
} from '../lib/key-log';
import { tuskHome } from '../lib/env';

/** What an operator process needs to read the key log: where it is and the operator's pinned log key. */
export const keyLogEnv = {
  /** The operator's transparency log (the API's base URL): where parties' keys are registered. */
  TUSK_LOG_URL: z.url(),
  /** The operator's log-signing key, pinned: tree heads signed by any other key are refused. */
  TUSK_OPERATOR_PUBLIC_KEY: z.string().length(43, 'a base64url Ed25519 public key (43 characters)'),
};

/**
 * The key log as an operator process (settlement, coordinator) reads it: its questions signed with
 * its own key (made on first start; the operator registers it as a party of role operator), the
 * newest head kept under TUSK_HOME so a log forked afterwards is refused.
 */
export async function serviceKeyLog(
  service: OperatorService,
  env: { TUSK_LOG_URL: string; TUSK_OPERATOR_PUBLIC_KEY: string },
  untrusted: (reason: string) => never,
  note: (message: string) => void,
): Promise<TransparencyKeyLog> {
  const identity = serviceIdentity(service, tuskHome());
  const key = await loadOrMakeSigningKey(identity.keyFile);
  note(
    `the ${service} worker reads the key log as ${identity.partyId} (key ${key.publicKey}), registered by tusk operator services register (tusk up and docker compose run it)`,
  );
  return new TransparencyKeyLog({
    logUrl: env.TUSK_LOG_URL.replace(/\/$/, ''),
    operatorPublicKey: env.TUSK_OPERATOR_PUBLIC_KEY,
    headFile: identity.headFile,
    reader: { partyId: identity.partyId, privateKeyPem: key.privateKeyPem },
    untrusted,
  });
}
