import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { keepSignedTerms } from '../../cli/settlement/kept-terms';
import type { TermsBody, TermsKind } from '../../lib/signed-terms';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import { tusk, type TuskRun } from '../integration/cli/run-tusk';
import type { TestDeployment } from '../integration/harness';
import { seeEscrow } from './harness';

export interface CliPayment {
  address: string;
  amount: string;
  txHash: string;
  before?: true;
}

/**
 * A payer running `tusk … pay` from its own Aztec test-account wallet, as a user does (bin/tusk), with
 * its signing key in a $TUSK_HOME of its own that lasts until close(). Every escrow it reports paying
 * is registered for balance reads.
 */
export async function cliPayer(test: TestDeployment, payer: PartyIdentity, account: number) {
  const home = await mkdtemp(join(tmpdir(), 'tusk-payer-'));
  await writeFileAtomic(keyPaths(home, payer.id).signing, payer.signingKeyPem, 0o600);
  return {
    /** Keeps terms the payer signed through the SDK where its CLI looks: it pays only what they say. */
    keep: (kind: TermsKind, id: string, signed: TermsBody & { termsSignature: string }) =>
      keepSignedTerms(home, { partyId: payer.id, publicKey: payer.client.publicKey }, kind, id, signed),
    async pay(args: string[]): Promise<TuskRun & { payments: CliPayment[] }> {
      const run = await tusk(
        [
          ...args,
          '--as',
          payer.id,
          '--wallet-account',
          String(account),
          '--aztec-home',
          inject('aztecOperatorHome'),
          '--aztec-node',
          inject('aztecNodeUrl'),
          '--wait',
          '--json',
        ],
        { TUSK_HOME: home, TUSK_API_URL: test.deployment.apiUrl },
      );
      const payments = run.code === 0 ? (JSON.parse(run.stdout) as { payments: CliPayment[] }).payments : [];
      for (const payment of payments) seeEscrow(payment.address);
      return { ...run, payments };
    },
    close: () => rm(home, { recursive: true, force: true }),
  };
}
