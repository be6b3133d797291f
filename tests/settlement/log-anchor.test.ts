import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { anchorId } from '../../lib/ids/anchor-id';
import type { LogAnchor } from '../../lib/transparency/anchor';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditReport } from '../../audit/verify/report';
import { buyDeal, type TestDeployment } from '../integration/harness';
import {
  nodeTxStatus,
  replaceInPayloads,
  rewriteLeaf,
  startAnchoringDeployment,
  tusk,
} from './anchor-helpers';
import { payWhenAsked, statusViaApi, untilSettledWithReceipt } from './harness';
import { confirmDeal } from '../../lib/signed-actions';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

const statusOf = (report: AuditReport, check: string) => report.checks.find((c) => c.check === check);
const findingsOf = (report: AuditReport) =>
  report.checks.filter((c) => c.status === 'finding').map((c) => `${c.check}: ${c.detail}`);

describe('the transparency log anchored on Aztec, checked by an auditor with a node URL', () => {
  let test: TestDeployment;
  let dealId: string;
  let bundleFile: string;
  let anchor: LogAnchor;
  const node = () => inject('aztecNodeUrl');

  beforeAll(async () => {
    test = await startAnchoringDeployment('aztec-anchor');
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    dealId = deal.dealId;
    await payWhenAsked(statusViaApi(test.deployment, dealId), '1000');
    await deal.delivered();
    await confirmDeal(test.deployment.buyer.client, dealId);
    expect((await untilSettledWithReceipt(test.deployment, dealId)).stage).toBe('settled');
    await test.temporal.workflow.getHandle(dealId).result();
    bundleFile = join(test.home, 'bundle.json');
  });
  afterAll(() => test?.close());

  it('the API anchors the head in public on its timer; the auditor finds it on chain and the deal verifies', async () => {
    const exported = await tusk(test, ['audit', 'bundle', dealId, '--as', 'demo-buyer', '--out', bundleFile]);
    expect(exported.code, exported.stderr).toBe(0);

    const refused = await tusk(test, ['log', 'anchor', '--as', 'auditor']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/forbidden/);

    // The API's timer anchors the head that now includes the bundle, without anyone asking.
    const started = performance.now();
    const current = (await test.deployment.buyer.client.get<{ body: { treeSize: number } }>('/log/head'))
      .body;
    for (;;) {
      const listed = await tusk(test, ['log', 'anchors', '--as', 'auditor', '--json']);
      const found = (JSON.parse(listed.stdout) as { anchors: LogAnchor[] }).anchors.find(
        (a) => a.treeSize === current.treeSize,
      );
      if (found) {
        anchor = found;
        break;
      }
      if (performance.now() - started > 90_000) throw new Error('no anchor of the current head within 90 s');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    console.log(`the timer anchored the head within ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(anchor.anchorId).toBe(anchorId(anchor.treeSize, anchor.rootHash));
    expect(await nodeTxStatus(anchor.txHash)).not.toBe('dropped');

    // Asked again for the same head, the operator sends nothing new.
    const again = await tusk(test, ['log', 'anchor', '--as', 'operator', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ anchored: false, anchor: { txHash: anchor.txHash } });
    const listed = await tusk(test, ['log', 'anchors', '--as', 'auditor', '--json']);
    expect((JSON.parse(listed.stdout) as { anchors: LogAnchor[] }).anchors.at(-1)).toEqual(anchor);

    const checked = await tusk(test, [
      'log',
      'verify-anchor',
      '--as',
      'auditor',
      '--aztec-node',
      node(),
      '--json',
    ]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const anchorReport = JSON.parse(checked.stdout) as AuditReport;
    expect(statusOf(anchorReport, 'log anchored on Aztec')?.status).toBe('ok');
    expect(statusOf(anchorReport, 'log consistent with its anchored heads')?.status).toBe('ok');

    const verified = await tusk(test, [
      'audit',
      'verify',
      bundleFile,
      '--as',
      'auditor',
      '--aztec-node',
      node(),
      '--json',
    ]);
    const report = JSON.parse(verified.stdout) as AuditReport;
    expect(findingsOf(report)).toEqual([]);
    expect(verified.code).toBe(0);
    for (const check of [
      'settlement transactions on Aztec',
      'receipt minted on Aztec',
      'log anchored on Aztec',
      'log consistent with its anchored heads',
      'your head covered by an anchor',
    ])
      expect(statusOf(report, check), check).toMatchObject({ status: 'ok' });
  });

  it('a settlement transaction the node does not know is a finding', async () => {
    const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as SignedBundle;
    const releaseTx = bundle.body.receipt!.body.settlement.transactions.find(
      (t) => t.action === 'releaseEscrow',
    )!.txHash!;
    const unknown = `0x${'0'.repeat(63)}1`;
    expect(replaceInPayloads(bundle, releaseTx, unknown)).toBeGreaterThan(0);
    const forged = join(test.home, 'unknown-tx.json');
    await writeFile(forged, JSON.stringify(bundle));
    const verified = await tusk(test, [
      'audit',
      'verify',
      forged,
      '--as',
      'auditor',
      '--aztec-node',
      node(),
      '--json',
    ]);
    expect(verified.code).toBe(1);
    expect(findingsOf(JSON.parse(verified.stdout) as AuditReport)).toContain(
      `settlement transactions on Aztec: releaseEscrow transaction ${unknown} is unknown to the node (never sent, or dropped)`,
    );
  });

  it('an operator who rewrites its log after anchoring is caught', async () => {
    await test.deployment.services.get('api')!.stop();
    rewriteLeaf(join(test.home, 'transparency-log.sqlite'), 0);
    await test.deployment.restart('api');

    const checked = await tusk(test, [
      'log',
      'verify-anchor',
      '--as',
      'auditor',
      '--aztec-node',
      node(),
      '--json',
    ]);
    expect(checked.code).toBe(1);
    const report = JSON.parse(checked.stdout) as AuditReport;
    // The anchor itself is still on chain: it is the log that no longer matches it.
    expect(statusOf(report, 'log anchored on Aztec')?.status).toBe('ok');
    // Every head anchored before the rewrite (the timer may have anchored an earlier one too) is caught.
    const findings = findingsOf(report);
    expect(findings.length).toBeGreaterThan(0);
    for (const line of findings)
      expect(line).toMatch(
        /^log consistent with its anchored heads: the log of \d+ entries does not extend the head of size \d+ \(block \d+, tx 0x[0-9a-f]{64}\) anchored on chain: history was rewritten$/,
      );
    expect(findings).toContain(
      `log consistent with its anchored heads: the log of ${anchor.treeSize} entries does not extend the head of size ${anchor.treeSize} (block ${anchor.blockNumber}, tx ${anchor.txHash}) anchored on chain: history was rewritten`,
    );

    const verified = await tusk(test, [
      'audit',
      'verify',
      bundleFile,
      '--as',
      'auditor',
      '--aztec-node',
      node(),
      '--json',
    ]);
    expect(verified.code).toBe(1);
    expect(findingsOf(JSON.parse(verified.stdout) as AuditReport).join('\n')).toMatch(
      /log consistent with its anchored heads: .*history was rewritten/,
    );
  });
});
