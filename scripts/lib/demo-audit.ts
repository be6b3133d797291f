import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signedBundle } from '../../audit/bundle';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { checkReceipt, signedReceipt } from '../../audit/receipt';
import { auditorKeysFromLog } from '../../audit/verify/auditor-keys';
import { formatReport } from '../../audit/verify/report';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { TuskApiError } from '../../lib/tusk-client';
import type { LocalDeployment } from './local-deployment';

/** The receipt, once the deal's workflow has closed (the chain receipt is its last step). */
async function receiptOf(deployment: LocalDeployment, dealId: string, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return signedReceipt.parse(await deployment.buyer.client.get<unknown>(`/deals/${dealId}/receipt`));
    } catch (error) {
      if (!(error instanceof TuskApiError && error.code === 'invalid_state') || Date.now() > until)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The demo's last act, as an auditor would do it with the buyer's copy: the operator's receipt and
 * audit bundle, checked against the operator's pinned key, every history replayed with this checkout's
 * workflow code. Throws when anything is found.
 */
export async function auditDemoDeal(
  deployment: LocalDeployment,
  home: string,
  dealId: string,
  say: (line: string) => void,
  onLedger: boolean,
): Promise<void> {
  const began = performance.now();
  const operatorKey = (await loadOperatorSigner(join(home, 'keys', 'operator-signing.ed25519.pem'), false))
    .publicKey;
  const receipt = await receiptOf(deployment, dealId);
  const check = checkReceipt(receipt, operatorKey);
  if (!check.ok) throw new Error(check.reason);
  say(`operator's receipt for the deal: signature and openings verified (key ${operatorKey.slice(0, 12)}…)`);
  say(
    "auditing the deal as an auditor would: its audit bundle, every history replayed with this checkout's workflow code…",
  );
  const bundle = signedBundle.parse(
    await deployment.buyer.client.get<unknown>(`/deals/${dealId}/audit-bundle`),
  );
  const bundleFile = join(home, `audit-bundle-${dealId}.json`);
  await writeFile(bundleFile, JSON.stringify(bundle));
  const resultKey = join(home, 'keys', 'demo-buyer.result.pem');
  await writeFile(resultKey, deployment.buyer.resultKeyPem, { mode: 0o600 });
  // Parties' and perimeters' keys as an auditor takes them: from the log, under the pinned operator key.
  const keys = await auditorKeysFromLog(
    (path) => deployment.buyer.client.get<unknown>(path),
    operatorKey,
    bundle,
  );
  const report = await verifyBundle(bundle, {
    operatorKey,
    keys,
    resultKey,
    ...(onLedger ? { ledgerFile: deployment.ledger.path } : {}),
  });
  console.log(`\n${formatReport(report)}\n`);
  say(
    `audit bundle ${bundleFile} verified in ${((performance.now() - began) / 1000).toFixed(2)} s (tusk audit verify ${bundleFile})`,
  );
  if (!report.ok) throw new Error(`the audit of deal ${dealId} has findings`);
}
