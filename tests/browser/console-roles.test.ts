import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { keyPaths } from '../../cli/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { evidenceRef, extendMilestone, submitGrantEvidence } from '../../lib/signed-actions';
import { checkReleaseLookup, extensionLookupKey, releaseLookup } from '../../lib/transparency/release-entry';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { signDocument } from '../../lib/transparency/signed-document';
import type { SignedBundle } from '../../audit/bundle';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTemplate } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { SignedTreeHead } from '../../lib/transparency/tree-head';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { GrantStatus } from '../../workflows/grant/state';
import { disclosureWorkflowId, grantWorkflowId } from '../../lib/ids/workflow-ids';
import { temporalUiLink } from '../../lib/temporal-ui';
import type { DisclosureStatus } from '../../workflows/disclosure/state';
import { buyDeal, startTestDeployment, type TestDeployment } from '../integration/harness';
import {
  LIFECYCLE_PARTIES,
  party,
  signedBy,
  terminateRunning,
  waitFor,
} from '../integration/lifecycle-harness';
import { extendDeadlineUpdate } from '../../workflows/grant/workflow';
import { tuskOk } from '../integration/cli/run-tusk';
import { launchChromium, recordPage, screenshot } from './browser';
import { expectReceiptDownloads } from './receipt-downloads';

/** The operator's secret for the Web UI's codec routes: it must never reach the page. */
const CODEC_TOKEN = 'codec-token-for-the-web-ui-console-0123456789';

const pem = (name: string, text: string) => ({
  name,
  mimeType: 'application/x-pem-file',
  buffer: Buffer.from(text),
});

describe('the console for sponsors, auditors and the operator, in Chromium, against the real stack', () => {
  let test: TestDeployment;
  let browser: Browser;
  let sponsor: PartyIdentity;
  let earlierHead: SignedTreeHead;
  const grantId = `grant-${crypto.randomUUID()}`;
  const disclosureId = `disclosure-${crypto.randomUUID()}`;
  const approvalGrantId = `grant-${crypto.randomUUID()}`;
  const extendedGrantId = `grant-${crypto.randomUUID()}`;

  beforeAll(async () => {
    test = await startTestDeployment(
      'console-roles',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: [...LIFECYCLE_PARTIES, { id: 'ops', role: 'operator' }],
        env: { TUSK_CODEC_TOKEN: CODEC_TOKEN },
      },
    );
    sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    earlierHead = await sponsor.client.get<SignedTreeHead>('/log/head');
    const { templates } = await sponsor.client.get<{ templates: { id: string; hash: string }[] }>(
      '/templates',
    );
    await sponsor.client.request('POST', '/grants', {
      ...sponsor.client.signed('grant', {
        grantId,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'enrolled',
            name: '≥ 1,000 participants enrolled',
            amount: '600',
            deadline: new Date(Date.now() + 120_000).toISOString(),
            check: {
              kind: 'query',
              templateId: templates[0]!.id,
              templateHash: templates[0]!.hash,
              parameters: { min_age: 30, max_age: 50, sex: 'F' },
              metric: 'patients',
              threshold: 1000,
            },
          },
        ],
      }),
    });
    const status = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
    await waitFor(status, (s) => s.stage === 'active');
    // A grant whose one milestone is paid on the sponsor's approval of the grantee's evidence.
    await sponsor.client.request('POST', '/grants', {
      ...sponsor.client.signed('grant', {
        grantId: approvalGrantId,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'report',
            name: 'final report',
            amount: '300',
            deadline: new Date(Date.now() + 600_000).toISOString(),
            check: { kind: 'sponsor_approval' },
          },
        ],
      }),
    });
    await waitFor(
      () => sponsor.client.get<GrantStatus>(`/grants/${approvalGrantId}`),
      (s) => s.stage === 'active',
    );
    await submitGrantEvidence(lab.client, grantId, 'enrolled', 'enrolment log for enrolled');
    await waitFor(status, (s) => s.stage === 'completed', 150_000);
    // The grant's receipt is issued into the log: the log grows past the head saved above.
    // (issued once the grant has settled, which may follow `completed` by a moment).
    await waitFor(
      () =>
        sponsor.client.get(`/grants/${grantId}/receipt`).then(
          () => true,
          () => false,
        ),
      (issued) => issued,
    );
    // A deal the auditor asks compliance to disclose.
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    await deal.delivered();
    await party(test, 'auditor').client.post('/disclosures', {
      disclosureId,
      dealId: deal.dealId,
      reason: 'quarterly sample of delivered deals',
    });
    await waitFor(
      () => party(test, 'auditor').client.get<DisclosureStatus>(`/disclosures/${disclosureId}`),
      (s) => s.scope !== undefined,
    );
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (test)
      await terminateRunning(test.temporal, [
        grantWorkflowId(grantId),
        grantWorkflowId(approvalGrantId),
        grantWorkflowId(extendedGrantId),
        disclosureWorkflowId(disclosureId),
      ]);
    await test?.close();
  });

  async function signIn(who: PartyIdentity, role: string, operatorKey?: string) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page: Page = await context.newPage();
    const record = recordPage(page);
    await page.goto(`${test.deployment.apiUrl}/console/`);
    await page.fill('#party-id', who.id);
    if (operatorKey) await page.fill('#operator-key', operatorKey);
    await page.setInputFiles('#signing-key', pem(`${who.id}.ed25519.pem`, who.signingKeyPem));
    await page.getByText('Signing key loaded').waitFor();
    await page.click(`button[data-role=${role}]`);
    return { page, context, record };
  }

  it("the sponsor sees its grant's milestone timeline: evidence, the seller's check, the payout", async () => {
    const { page, context, record } = await signIn(sponsor, 'sponsor');
    await page
      .locator(`#grants tr[data-grant="${grantId}"]`)
      .getByRole('button', { name: 'Milestones' })
      .click();
    const milestone = page.locator('#grant [data-milestone=enrolled]');
    await milestone.waitFor();
    const grant = await sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
    const [shown] = grant.milestones;
    expect(await milestone.locator('h4').textContent()).toBe(
      `${shown!.name} (enrolled): ${shown!.stage}, ${shown!.amount}`,
    );
    const events = await milestone.locator('li').allTextContents();
    expect(events).toContainEqual(`${new Date(shown!.lastCheck!.at).toISOString()} checked: met`);
    expect(events).toContainEqual(`${new Date(shown!.releasedAt!).toISOString()} paid out 600`);
    expect(events.filter((e) => / evidence sha256:/.test(e))).toHaveLength(shown!.evidence.length);
    expect(events.at(-1)).toMatch(/ deadline$/);
    await screenshot(page, 'sponsor-grant');
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });

  it("the sponsor downloads its grant's receipt, JSON and PDF, the ones the API signed and the CLI renders", async () => {
    const { page, context, record } = await signIn(sponsor, 'sponsor');
    const row = page.locator(`#grants tr[data-grant="${grantId}"]`);
    const receipt = await expectReceiptDownloads(
      page,
      row,
      sponsor.client,
      `/grants/${grantId}/receipt`,
      grantId,
    );
    expect(receipt.body.kind).toBe('grant');
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });

  it("the sponsor moves a milestone's deadline later in the page, signed there; the grantee's extension is refused", async () => {
    const openMilestone = async (who: PartyIdentity) => {
      const signedIn = await signIn(who, 'sponsor');
      await signedIn.page
        .locator(`#grants tr[data-grant="${approvalGrantId}"]`)
        .getByRole('button', { name: 'Milestones' })
        .click();
      await signedIn.page.locator('#grant [data-milestone=report]').waitFor();
      return signedIn;
    };
    const status = () => sponsor.client.get<GrantStatus>(`/grants/${approvalGrantId}`);
    const before = (await status()).milestones[0]!.deadline;
    const later = '2030-01-01T12:00';

    const grantee = await openMilestone(party(test, 'lab'));
    await grantee.page.getByLabel('New deadline for final report (sponsor)').fill(later);
    await grantee.page.getByRole('button', { name: 'Extend the deadline (signed here)' }).click();
    await grantee.page.getByRole('alert').waitFor();
    expect(await grantee.page.getByRole('alert').textContent()).toMatch(
      /^The API refused: .*(sponsor must sign it|only the sponsor extends a deadline)/,
    );
    expect((await status()).milestones[0]!.deadline).toBe(before);
    await grantee.context.close();

    const extending = await openMilestone(sponsor);
    await extending.page.getByLabel('New deadline for final report (sponsor)').fill(later);
    await extending.page.getByRole('button', { name: 'Extend the deadline (signed here)' }).click();
    const said = extending.page.getByText(/^Deadline of report extended to /);
    await said.waitFor();
    const signedIso = /extended to (\S+); grant active\.$/.exec((await said.textContent()) ?? '')?.[1];
    // The instant the page signed is the one the grant now holds: later than before, and the date and
    // time entered (in the browser's zone, at most a day from UTC's).
    const extended = (await status()).milestones[0]!.deadline;
    expect(extended).toBe(Date.parse(signedIso ?? ''));
    expect(extended).toBeGreaterThan(before);
    expect(Math.abs(extended - Date.UTC(2030, 0, 1, 12))).toBeLessThanOrEqual(24 * 3_600_000);
    await extending.context.close();
    const after = await openMilestone(sponsor);
    const events = await after.page.locator('#grant [data-milestone=report] li').allTextContents();
    expect(events.at(-1)).toBe(`${new Date(extended).toISOString()} deadline`);
    expect(after.record.pageErrors).toEqual([]);
    await after.context.close();
  });

  it("the grantee checks the extensions it is shown: the API's is verified, one the operator sent past the log is not binding", async () => {
    const lab = party(test, 'lab');
    const deadline = Date.now() + 10 * 60_000;
    // Started through the API (so the grant is listed), then attacked straight on Temporal below.
    await sponsor.client.request('POST', '/grants', {
      ...sponsor.client.signed('grant', {
        grantId: extendedGrantId,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'report',
            name: 'report',
            amount: '400',
            deadline: new Date(deadline).toISOString(),
            check: { kind: 'sponsor_approval' },
          },
        ],
      }),
    });
    const active = await waitFor(
      () => sponsor.client.get<GrantStatus>(`/grants/${extendedGrantId}`),
      (s) => s.stage === 'active' && s.scope !== undefined,
    );
    const handle = test.temporal.workflow.getHandle(grantWorkflowId(extendedGrantId));
    const logged = deadline + 10 * 60_000;
    await extendMilestone(sponsor.client, extendedGrantId, 'report', new Date(logged).toISOString());
    const checkInPage = async () => {
      const signedIn = await signIn(lab, 'sponsor');
      await signedIn.page
        .locator(`#grants tr[data-grant="${extendedGrantId}"]`)
        .getByRole('button', { name: 'Milestones' })
        .click();
      await signedIn.page.getByRole('button', { name: 'Check the extensions against the log' }).click();
      await signedIn.page.locator('#grant [data-extension]').first().waitFor();
      return signedIn;
    };
    const first = await checkInPage();
    expect(await first.page.locator('#grant [data-extension]').allTextContents()).toEqual([
      `report: extended to ${new Date(logged).toISOString()}, verified: signed by the sponsor and in the log (leaf ${await leafOfExtension(0)})`,
    ]);
    expect(await first.page.getByRole('alert').count()).toBe(0);
    await first.context.close();

    // The sponsor's genuine signature on a later deadline, sent by the operator straight to Temporal:
    // the grant shows it, the log does not hold it, the page says so.
    const unlogged = logged + 10 * 60_000;
    const signed = signedBy(test, sponsor.id, active.scope!, 'deadline_extension', {
      milestoneId: 'report',
      deadline: unlogged,
    });
    await handle.executeUpdate(extendDeadlineUpdate, { args: [{ signed }] });
    const second = await checkInPage();
    const marks = second.page.locator('#grant [data-extension]');
    const marked = [
      await marks.nth(0).getAttribute('data-extension'),
      await marks.nth(1).getAttribute('data-extension'),
    ];
    expect(await marks.count()).toBe(2);
    expect(marked).toEqual(['verified', 'not-binding']);
    expect(await marks.nth(1).textContent()).toBe(
      `report: extended to ${new Date(unlogged).toISOString()}, NOT binding: it is not in the transparency log: ` +
        'settlement does not honour it, and the remainder may go back at the earlier deadline',
    );
    expect(await second.page.getByRole('alert').textContent()).toMatch(/not binding/);
    await screenshot(second.page, 'grantee-extension-check');
    // Checking sends only reads and signed requests: no body, so no key or statement leaves the page.
    expect(second.record.requests.filter((r) => r.method !== 'GET').map((r) => r.url)).toEqual([]);
    expect(second.record.pageErrors).toEqual([]);
    await second.context.close();

    /** The leaf the log holds the grant's extension at, read and checked with the project's own code. */
    async function leafOfExtension(index: number) {
      const { publicKey } = await lab.client.get<{ publicKey: string }>('/operator/key');
      const lookupKey = extensionLookupKey({
        grantId: extendedGrantId,
        termsHash: active.scope!.subject.termsHash,
      });
      const answer = releaseLookup.parse(await lab.client.get(`/log/extensions/${lookupKey}`));
      const check = checkReleaseLookup(answer, lookupKey, publicKey, undefined, 'extension');
      if (!check.ok) throw new Error(check.reason);
      return check.releases[index]!.leafIndex;
    }
  });

  it('the grantee submits evidence and the sponsor approves the milestone in the page; the payout shows on its timeline', async () => {
    const lab = party(test, 'lab');
    const evidence = 'final report: 1,204 participants enrolled, analysis attached';
    const openMilestone = async (who: PartyIdentity) => {
      const signedIn = await signIn(who, 'sponsor');
      await signedIn.page
        .locator(`#grants tr[data-grant="${approvalGrantId}"]`)
        .getByRole('button', { name: 'Milestones' })
        .click();
      await signedIn.page.locator('#grant [data-milestone=report]').waitFor();
      return signedIn;
    };
    const grantee = await openMilestone(lab);
    // Only the sponsor approves: the grantee's signed approval is refused with the reason.
    await grantee.page.getByRole('button', { name: /^Approve report/ }).click();
    await grantee.page.getByRole('alert').waitFor();
    expect(await grantee.page.getByRole('alert').textContent()).toMatch(
      /signed as lab's; sponsor must sign it/,
    );
    await grantee.page.getByLabel('Evidence for final report (grantee)').fill(evidence);
    await grantee.page.getByRole('button', { name: 'Submit evidence (signed here)' }).click();
    await grantee.page.getByText('Evidence for report submitted; grant active.').waitFor();
    const withEvidence = await sponsor.client.get<GrantStatus>(`/grants/${approvalGrantId}`);
    expect(withEvidence.milestones[0]!.evidence.map((e) => e.ref)).toEqual([evidenceRef(evidence)]);
    expect(grantee.record.pageErrors).toEqual([]);
    await grantee.context.close();

    const approving = await openMilestone(sponsor);
    await approving.page.getByRole('button', { name: /^Approve report/ }).click();
    await approving.page.getByText(/^Milestone report approved; grant /).waitFor();
    const paid = await waitFor(
      () => sponsor.client.get<GrantStatus>(`/grants/${approvalGrantId}`),
      (s) => s.milestones[0]!.releasedAt !== undefined,
    );
    await approving.context.close();
    const after = await openMilestone(sponsor);
    const events = await after.page.locator('#grant [data-milestone=report] li').allTextContents();
    expect(events).toContainEqual(`${new Date(paid.milestones[0]!.releasedAt!).toISOString()} paid out 300`);
    expect(events).toContainEqual(
      `${new Date(withEvidence.milestones[0]!.evidence[0]!.at).toISOString()} evidence ${evidenceRef(evidence)}`,
    );
    await screenshot(after.page, 'sponsor-approval');
    await after.context.close();
  });

  describe('the auditor and the transparency log', () => {
    let operatorKey: string;
    beforeAll(async () => {
      operatorKey = (await sponsor.client.get<{ publicKey: string }>('/operator/key')).publicKey;
    });

    async function check(saved: unknown) {
      const signedIn = await signIn(party(test, 'auditor'), 'auditor', operatorKey);
      await signedIn.page.getByLabel('A signed head you saved earlier (JSON)').fill(JSON.stringify(saved));
      await signedIn.page.getByRole('button', { name: 'Check the log extends it' }).click();
      await signedIn.page.locator('#consistency p').waitFor();
      return { ...signedIn, verdict: (await signedIn.page.locator('#consistency p').textContent()) ?? '' };
    }

    it("shows the log's head, checked against the pinned key, and that it extends a head saved earlier", async () => {
      const { page, context, verdict } = await check(earlierHead);
      const head = await sponsor.client.get<SignedTreeHead>('/log/head');
      expect(head.body.treeSize).toBeGreaterThan(earlierHead.body.treeSize);
      expect(await page.locator('main').getByRole('status').first().textContent()).toBe(
        `The head's signature is the pinned operator key's (${operatorKey}).`,
      );
      expect(await page.locator('main table').first().locator('td').nth(1).textContent()).toBe(
        String(head.body.treeSize),
      );
      expect(verdict).toBe(
        `Consistent: the log of ${head.body.treeSize} entries extends the head of ${earlierHead.body.treeSize} you saved.`,
      );
      await screenshot(page, 'auditor-log');
      await context.close();
    });

    it('a history the operator rewrote is caught: a signed head the log does not extend, a fork, a head of another key', async () => {
      const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
      expect(signer.publicKey).toBe(operatorKey);
      const rewritten = signDocument(signer, { ...earlierHead.body, rootHash: 'ab'.repeat(32) });
      const rewrittenCheck = await check(rewritten);
      expect(rewrittenCheck.verdict).toMatch(
        /does not extend the head of size \d+ you saved: history was rewritten$/,
      );
      expect(await rewrittenCheck.page.getByRole('alert').count()).toBe(1);
      await rewrittenCheck.context.close();

      // A fork is a second head of the log's current size: if the log grew between reading its head and
      // the page's check (receipts land in the background), the page rightly reports a rewrite instead,
      // so the fork is signed again over the newer head.
      let fork: Awaited<ReturnType<typeof check>> | undefined;
      for (let attempt = 1; attempt <= 3; attempt++) {
        await fork?.context.close();
        const head = await sponsor.client.get<SignedTreeHead>('/log/head');
        fork = await check(signDocument(signer, { ...head.body, rootHash: 'cd'.repeat(32) }));
        const grown = fork.verdict.match(/^the log of size (\d+) does not extend the head of size (\d+)/);
        if (!grown || Number(grown[2]) !== head.body.treeSize) break;
      }
      expect(fork!.verdict).toMatch(/two different logs of size \d+ were signed: the log forked/);
      await fork!.context.close();

      const stranger = await check({
        ...earlierHead,
        signature: { ...earlierHead.signature, publicKey: sponsor.client.publicKey },
      });
      expect(stranger.verdict).toMatch(
        /^the saved head is not the operator's: .*not the operator's pinned key/,
      );
      await stranger.context.close();
    });

    it('an auditor drops an audit bundle: the page checks its signatures and log proof under the pinned key; a swapped template is caught', async () => {
      const bundle = await sponsor.client.get<SignedBundle>(`/grants/${grantId}/audit-bundle`);
      const inclusion = bundle.body.receiptInclusion!;
      expect(bundle.body.templates.length).toBeGreaterThan(0);
      const dropBundle = async (text: string) => {
        const signedIn = await signIn(party(test, 'auditor'), 'auditor', operatorKey);
        await signedIn.page.setInputFiles('#bundle-file', {
          name: 'bundle.json',
          mimeType: 'application/json',
          buffer: Buffer.from(text),
        });
        await signedIn.page.locator('#bundle-report, main [role=alert]').first().waitFor();
        const trs = signedIn.page.locator('#bundle-report tbody tr');
        const rows: string[][] = [];
        for (let i = 0; i < (await trs.count()); i++)
          rows.push(await trs.nth(i).locator('td').allTextContents());
        return { ...signedIn, rows };
      };
      const statusOf = (rows: string[][], check: string) => rows.find((r) => r[1] === check);

      const genuine = await dropBundle(JSON.stringify(bundle));
      expect(await genuine.page.locator('#bundle-report h3').textContent()).toBe(
        `Audit of grant:${grantId}: no findings in the checks made here`,
      );
      expect(statusOf(genuine.rows, 'bundle signed by the operator')?.[0]).toBe('ok');
      expect(statusOf(genuine.rows, 'receipt signed by the operator')?.[0]).toBe('ok');
      expect(statusOf(genuine.rows, 'receipt in the transparency log')).toEqual([
        'ok',
        'receipt in the transparency log',
        `leaf ${inclusion.leafIndex} of ${inclusion.treeSize}`,
      ]);
      const templateRows = genuine.rows.filter((r) => r[1]?.startsWith('template and seller signature'));
      expect(templateRows.map((r) => r[0])).toEqual(bundle.body.templates.map(() => 'ok'));
      // What needs the replayer is named as not done here, with the command that does it.
      expect(statusOf(genuine.rows, 'histories replay against the pinned workflow code')?.[2]).toMatch(
        /run tusk audit verify/,
      );
      await screenshot(genuine.page, 'auditor-bundle');
      // The bundle is read in the page: no request carried it (nothing but reads left the browser).
      expect(genuine.record.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      expect(genuine.record.requests.map((r) => r.url).join('\n')).not.toContain(bundle.signature.value);
      await genuine.context.close();

      // Changed after the operator signed it: the signature finding.
      const changed = await dropBundle(
        JSON.stringify({ ...bundle, body: { ...bundle.body, exportedFor: 'someone-else' } }),
      );
      expect(statusOf(changed.rows, 'bundle signed by the operator')).toEqual([
        'FINDING',
        'bundle signed by the operator',
        'the signature does not match the document (changed after signing?)',
      ]);
      await changed.context.close();

      // The operator swaps the seller's template and the key the bundle names for it, and signs the
      // bundle anew: its signature holds, but the template is checked against the log's key for the seller.
      const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
      const forger = generateEd25519KeyPair();
      const [held] = bundle.body.templates;
      const swappedTemplate = { ...(held!.template as QueryTemplate), title: 'a gentler template' };
      const swapped = signDocument(signer, {
        ...bundle.body,
        templates: [
          {
            sellerId: held!.sellerId,
            template: swappedTemplate,
            signature: signTemplate(swappedTemplate, forger.privateKeyPem),
          },
        ],
        parties: bundle.body.parties.map((p) =>
          p.id === held!.sellerId ? { ...p, publicKey: forger.publicKey } : p,
        ),
      });
      const forged = await dropBundle(JSON.stringify(swapped));
      expect(statusOf(forged.rows, 'bundle signed by the operator')?.[0]).toBe('ok');
      const forgedTemplate = forged.rows.find((r) => r[1]?.startsWith('template and seller signature'));
      expect(forgedTemplate).toEqual([
        'FINDING',
        `template and seller signature (${held!.sellerId}, ${swappedTemplate.id})`,
        `the signature does not verify with seller ${held!.sellerId}'s registered key`,
      ]);
      expect(await forged.page.locator('#bundle-report h3').textContent()).toMatch(/: 1 finding$/);
      await forged.context.close();

      const notBundle = await dropBundle('{"body":{}}');
      expect(await notBundle.page.getByRole('alert').textContent()).toBe(
        'Refusing the file: it is not an audit bundle (type tusk.audit-bundle/v1).',
      );
      await notBundle.context.close();
    });

    it('lists the disclosures the auditor may see, as the API lists them', async () => {
      const auditor = party(test, 'auditor');
      const { page, context } = await signIn(auditor, 'auditor', operatorKey);
      const section = page.locator('#disclosures');
      await section.waitFor();
      const listed = await auditor.client.get<{ deals: { id: string }[] }>('/deals?kind=disclosure');
      expect(listed.deals.map((d) => d.id)).toContain(disclosureId);
      expect(await section.locator('tbody tr').count()).toBe(listed.deals.length);
      expect(await section.locator('th').allTextContents()).toEqual([
        'Disclosure',
        'Stage',
        'Started',
        'Closed',
        '',
      ]);
      await context.close();
    });

    /** A compliance party's page on the disclosure request, its status as the API (or `rewrite`) shows it. */
    async function showDisclosure(who: string, rewrite?: (status: DisclosureStatus) => DisclosureStatus) {
      const signedIn = await signIn(party(test, who), 'auditor', operatorKey);
      if (rewrite)
        await signedIn.page.route(`**/disclosures/${disclosureId}`, async (route) => {
          const response = await route.fetch();
          await route.fulfill({ response, json: rewrite((await response.json()) as DisclosureStatus) });
        });
      await signedIn.page
        .locator(`#disclosures tr[data-disclosure="${disclosureId}"]`)
        .getByRole('button', { name: 'Show' })
        .click();
      await signedIn.page.locator('#disclosure').waitFor();
      return signedIn;
    }
    const decisions = async () =>
      (
        await party(test, 'auditor').client.get<DisclosureStatus>(`/disclosures/${disclosureId}`)
      ).decisions.map((d) => `${d.principal}: ${d.decision}`);

    it('an approval signed over fields other than the request asks is not counted', async () => {
      // The operator runs the API: it shows compliance a narrower request than the auditor made.
      const { page, context } = await showDisclosure('compliance-1', (status) => ({
        ...status,
        fields: status.fields.slice(0, 1),
      }));
      await page.getByRole('button', { name: 'Approve (signed here)' }).click();
      const alert = page.locator('#disclosure-outcome [role=alert]');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(
        /^The API refused: signature is not compliance-1's over this disclosure_decision/,
      );
      expect(await decisions()).toEqual([]);
      await context.close();
    });

    it('two compliance parties approve the disclosure in the page, each signing what it is shown', async () => {
      const expected = [
        ['compliance-1', 'pending'],
        ['compliance-2', 'approved'],
      ];
      for (const [who, stage] of expected) {
        const { page, context, record } = await showDisclosure(who!);
        const shown = await page.locator('#disclosure td').allTextContents();
        expect(shown).toContain('quarterly sample of delivered deals');
        expect(shown).toContain('auditor');
        await page.getByRole('button', { name: 'Approve (signed here)' }).click();
        await page.getByText(`Disclosure ${disclosureId}: your approve is recorded; ${stage}.`).waitFor();
        if (who === 'compliance-1') await screenshot(page, 'compliance-disclosure');
        expect(
          record.requests.filter((r) => r.method === 'POST').map((r) => new URL(r.url).pathname),
        ).toEqual([`/disclosures/${disclosureId}/decisions`]);
        expect(record.pageErrors).toEqual([]);
        await context.close();
      }
      expect(await decisions()).toEqual(['compliance-1: approve', 'compliance-2: approve']);
    });
  });

  it('the operator sees health and the needs-attention queue as the API lists it', async () => {
    const ops = party(test, 'ops');
    const { page, context, record } = await signIn(ops, 'operator');
    const queue = page.locator('#attention');
    await queue.waitFor();
    const listed = await ops.client.get<{ deals: { stage: string }[] }>('/deals?limit=100');
    const waiting = listed.deals.filter((d) => d.stage === 'needs_attention');
    if (waiting.length === 0)
      expect(await queue.getByRole('status').first().textContent()).toBe('Nothing needs attention.');
    else expect(await queue.locator('tbody tr').count()).toBe(waiting.length);
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });

  it('the operator follows each lifecycle to its workflow in the Temporal UI; no codec token is in the page or a link', async () => {
    const ops = party(test, 'ops');
    const { page, context, record } = await signIn(ops, 'operator');
    const section = page.locator('#temporal-ui');
    await section.locator('table, [role=alert]').first().waitFor();
    const ui = await ops.client.get<{ uiUrl: string; namespace: string; codecTokenRoute: boolean }>(
      '/operator/temporal-ui',
    );
    expect(ui).toMatchObject({ namespace: 'default', codecTokenRoute: true });
    // The grant started above: its link names the workflow Temporal runs it as, in the UI's namespace.
    const workflowId = grantWorkflowId(grantId);
    const link = section.locator(`tr[data-workflow="${workflowId}"] a`);
    expect(await link.textContent()).toBe(workflowId);
    const href = (await link.getAttribute('href')) ?? '';
    expect(href).toBe(temporalUiLink(ui.uiUrl, ui.namespace, workflowId));
    // The link the operator's CLI prints for the grant.
    const { apiUrl } = test.deployment;
    // The operator's own machine: its signing key where the CLI reads it.
    const opsHome = await mkdtemp(join(tmpdir(), 'tusk-ops-'));
    const { signing } = keyPaths(opsHome, ops.id);
    await mkdir(dirname(signing), { recursive: true });
    await writeFile(signing, ops.signingKeyPem);
    const args = ['temporal-ui', grantId, '--kind', 'grant', '--as', ops.id, '--home', opsHome];
    const cli = await tuskOk(['operator', ...args, '--api', apiUrl, '--json'], {});
    await rm(opsHome, { recursive: true, force: true });
    expect(JSON.parse(cli)).toMatchObject({ ...ui, link: href });
    const described = await test.temporal.workflow.getHandle(workflowId).describe();
    expect(described.workflowId).toBe(workflowId);
    const query = new URL(href).searchParams.get('query');
    expect(query).toBe(`WorkflowId="${described.workflowId}"`);
    // Every listed lifecycle has its row; the codec endpoint is named with a placeholder for the token.
    const listed = await ops.client.get<{ deals: { id: string }[] }>('/deals?limit=100');
    expect(await section.locator('tbody tr').count()).toBe(listed.deals.length);
    expect(await page.locator('#codec-endpoint code').nth(1).textContent()).toBe(
      `${test.deployment.apiUrl}/codec/<TUSK_CODEC_TOKEN>`,
    );
    const anchors = await section.locator('a').all();
    const links = await Promise.all(anchors.map((a) => a.getAttribute('href')));
    for (const url of [...links, ...record.requests.map((r) => r.url)])
      expect(url ?? '').not.toMatch(/\/codec\/[^<]/);
    expect(await page.content()).not.toContain(CODEC_TOKEN);
    expect(JSON.stringify(record.requests)).not.toContain(CODEC_TOKEN);
    await screenshot(page, 'operator-temporal-ui');
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });

  it('a party that is not an operator is refused the Temporal UI settings with a clear reason', async () => {
    const { page, context } = await signIn(sponsor, 'operator');
    const refused = page.locator('#temporal-ui [role=alert]');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/^The API refused: .*operator/);
    await context.close();
  });
});
