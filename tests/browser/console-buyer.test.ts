import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { tusk } from '../integration/cli/run-tusk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openDealResult, waitForStage } from '../../cli/buyer/commands';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signReleaseStatement, type ReleaseStatement } from '../../lib/release-statement';
import { buyDeal } from '../integration/harness';
import { TuskClient } from '../../lib/tusk-client';
import { termsBodyOf, termsHashOf } from '../../lib/signed-terms';
import type { DecisionScope } from '../../lib/decision-statement';
import type { ResultPayload } from '../../lib/sealed-result';
import { budgetOf, startTestDeployment, type TestDeployment } from '../integration/harness';
import { CONSOLE_CSP } from '../../api/console/routes';
import Fastify from 'fastify';
import { waitFor } from '../integration/lifecycle-harness';
import { expectReceiptDownloads } from './receipt-downloads';
import { keyEncodings, launchChromium, recordPage, screenshot, type PageRecord } from './browser';

const SCRIPT_TITLE = '<script>alert("title")</script><img src=x onerror="alert(1)">';
const SCRIPT_DESCRIPTION = '<img src=x onerror="alert(2)"><b>bold</b>';
const pem = (name: string, text: string) => ({
  name,
  mimeType: 'application/x-pem-file',
  buffer: Buffer.from(text),
});

describe('the web console, in Chromium, against the real stack', () => {
  let test: TestDeployment;
  let browser: Browser;

  beforeAll(async () => {
    test = await startTestDeployment('console', async (seller) => {
      const demo = await seller.publishDemoTemplate();
      await seller.publishDemoTemplate({
        id: 'script-probe',
        title: SCRIPT_TITLE,
        parameters: {
          ...demo.parameters,
          sex: { type: 'enum', values: ['F', 'M'], description: SCRIPT_DESCRIPTION },
        },
      });
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  /** A fresh browser profile on the console, signed in as a party with these key files. */
  async function signIn(partyId: string, signingPem: string, resultPem?: string, operatorKey?: string) {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page: Page = await context.newPage();
    const record: PageRecord = recordPage(page);
    const response = await page.goto(`${test.deployment.apiUrl}/console/`);
    expect(response?.headers()['content-security-policy']).toBe(CONSOLE_CSP);
    await page.fill('#party-id', partyId);
    if (operatorKey) await page.fill('#operator-key', operatorKey);
    await page.setInputFiles('#signing-key', pem(`${partyId}.ed25519.pem`, signingPem));
    await page.getByText('Signing key loaded').waitFor();
    if (resultPem) {
      await page.setInputFiles('#result-key', pem(`${partyId}.x25519.pem`, resultPem));
      await page.getByText('Result key loaded').waitFor();
    }
    return { context, page, record };
  }

  let dealId: string;
  let payload: ResultPayload;

  it('a buyer buys, follows the deal, opens the sealed result in the page and confirms; no key or result crosses the wire', async () => {
    const { buyer } = test.deployment;
    const { page, record, context } = await signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem);
    await page.click('button[data-role=buyer]');
    const demoRow = page.locator('#catalog tr', { hasText: 'cohort-cost-by-zip3' });
    await demoRow.getByRole('button', { name: 'Choose' }).click();
    await page.locator('meter#budget-meter').waitFor();
    await page.fill('#param-min_age', '30');
    await page.fill('#param-max_age', '50');
    await page.selectOption('#param-sex', 'F');
    await page.selectOption('#jurisdiction', 'US');
    await page.selectOption('#purpose', 'research');
    await page.getByLabel('health', { exact: true }).check();
    await page.getByLabel('deidentified', { exact: true }).check();
    await screenshot(page, 'buyer-catalog');
    await page.getByRole('button', { name: /^Buy for/ }).click();
    await page.locator('#result table, #deal-panel [role=alert]').first().waitFor({ timeout: 150_000 });
    expect(await page.locator('#deal-panel [role=alert]').allTextContents()).toEqual([]);
    dealId = ((await page.locator('#deal-panel h3').first().textContent()) ?? '').replace(/^Deal /, '');
    await screenshot(page, 'buyer-result');

    // The table in the page is the answer the CLI's own code opens for this deal.
    payload = await openDealResult(buyer.client, buyer.resultKeyPem, dealId);
    const shown = payload.rows.filter((row) => row.slice(2).some((cell) => cell !== null));
    const cells = await page.locator('#result tbody td').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    expect(await page.locator('#result tbody tr').count()).toBe(shown.length);
    expect(cells).toEqual(shown.flatMap((row) => row.map((cell) => (cell === null ? '' : String(cell)))));
    expect(await page.locator('#result svg rect.bar').count()).toBe(Math.min(15, shown.length));
    expect(await page.locator('.timeline li').allTextContents()).toContainEqual(
      expect.stringMatching(/^delivered at/),
    );

    await page.getByRole('button', { name: /^Confirm the deal/ }).click();
    await page.getByText(`Deal ${dealId} confirmed.`).waitFor();
    const status = await buyer.client.get<{ stage: string; confirmedBy?: string }>(`/deals/${dealId}`);
    expect(status).toMatchObject({ confirmedBy: 'buyer' });

    // The recording: what left the browser. Signed requests only; no private key, no plaintext answer.
    const sent = record.requests
      .map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`)
      .join('\n');
    expect(record.requests.some((r) => r.method === 'POST' && r.url.endsWith('/deals'))).toBe(true);
    for (const secret of [...keyEncodings(buyer.signingKeyPem), ...keyEncodings(buyer.resultKeyPem)])
      expect(sent).not.toContain(secret);
    expect(sent).not.toContain(payload.salt);
    for (const row of shown) expect(sent).not.toContain(JSON.stringify(row));
    expect(sent).not.toMatch(/cookie/i);
    expect(record.consoleErrors).toEqual([]);
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });

  it('a key that is not the registered one is refused with a clear message', async () => {
    const stranger = generateEd25519KeyPair();
    const { page, context } = await signIn(test.deployment.buyer.id, stranger.privateKeyPem);
    await page.click('button[data-role=buyer]');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(
      /^The API refused the key: the request is not signed by a key registered for this party id .*Check the party id/,
    );
    await screenshot(page, 'wrong-key');
    await context.close();
  });

  it('a template whose title and parameters carry script shows them as text and runs nothing', async () => {
    const { buyer } = test.deployment;
    const { page, record, context } = await signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem);
    await page.click('button[data-role=buyer]');
    const probeRow = page.locator('#catalog tr', { hasText: 'script-probe' });
    await probeRow.waitFor();
    expect(await probeRow.locator('td').first().textContent()).toBe(SCRIPT_TITLE);
    await probeRow.getByRole('button', { name: 'Choose' }).click();
    await page.locator('label[for=param-sex]').waitFor();
    expect(await page.locator('label[for=param-sex]').textContent()).toBe(`sex (${SCRIPT_DESCRIPTION})`);
    expect(await page.locator('#deal-panel h3').textContent()).toBe(SCRIPT_TITLE);
    // Nothing was parsed as markup: no element from the strings, no dialog, no error.
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    await page.waitForTimeout(500);
    expect(record.dialogs).toEqual([]);
    expect(record.consoleErrors).toEqual([]);
    expect(record.pageErrors).toEqual([]);
    await screenshot(page, 'script-as-text');
    await context.close();
  });

  it('the seller sees its deals and the budget use of its dataset', async () => {
    const { seller } = test;
    const { page, context } = await signIn(seller.id, seller.keys.privateKeyPem);
    await page.click('button[data-role=seller]');
    await page.getByRole('button', { name: 'Show budget use' }).click();
    const spentCell = page.locator('main table').last().locator('tbody td').nth(1);
    await spentCell.waitFor();
    const client = new TuskClient(test.deployment.apiUrl, seller.id, seller.keys.privateKeyPem);
    const view = await budgetOf(client, seller.id);
    expect(view.total.spent.epsilon).toBeGreaterThan(0);
    expect(await spentCell.textContent()).toBe(String(view.total.spent.epsilon));
    const listed = await client.get<{ deals: { id: string }[] }>('/deals');
    for (const deal of listed.deals) await page.getByRole('cell', { name: deal.id, exact: true }).waitFor();
    await screenshot(page, 'seller');
    await context.close();
  });

  it('a page on another origin can neither send a signed request nor ride on cookies (CSRF)', async () => {
    const { apiUrl, buyer } = test.deployment;
    // Another site's page, with no policy of its own to stop its scripts from calling out.
    const elsewhere = Fastify();
    elsewhere.get('/', (_request, reply) =>
      reply.type('text/html').send('<!doctype html><title>elsewhere</title>'),
    );
    const elsewhereUrl = await elsewhere.listen({ port: 0, host: '127.0.0.1' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(apiUrl))
        sent.push(`${request.method()} ${new URL(request.url()).pathname}`);
    });
    await page.goto(elsewhereUrl);
    const before = await buyer.client.get<{ deals: unknown[] }>('/deals');
    const outcome = await page.evaluate<{ signedHeaders: string; simplePost: string }>(`(async () => {
      const signedHeaders = await fetch(${JSON.stringify(`${apiUrl}/templates`)}, {
        headers: { 'signature-input': 'tusk=("@method");keyid="${buyer.id}"', signature: 'tusk=:AAAA:' },
      }).then(() => 'answered', (e) => 'blocked: ' + e.name);
      const simplePost = await fetch(${JSON.stringify(`${apiUrl}/deals`)}, {
        method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}',
      }).then((r) => r.type, (e) => 'blocked: ' + e.name);
      return { signedHeaders, simplePost };
    })()`);
    // Custom signature headers need a CORS preflight, which the API never grants.
    expect(outcome.signedHeaders).toBe('blocked: TypeError');
    // A "simple" request leaves the browser without a preflight (its answer is then withheld from
    // the page), but it carries no signature: the API refuses it and nothing is started.
    expect(outcome.simplePost).toMatch(/^(opaque|blocked: TypeError)$/);
    expect(sent).toContain('POST /deals');
    const replayed = await fetch(`${apiUrl}/deals`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', cookie: `session=${buyer.id}`, origin: elsewhereUrl },
      body: '{}',
    });
    expect(replayed.status).toBeGreaterThanOrEqual(400);
    expect(replayed.status).toBeLessThan(500);
    // Cookies are no credential: the API authenticates by signature alone.
    const withCookie = await fetch(`${apiUrl}/deals`, { headers: { cookie: `session=${buyer.id}` } });
    expect(withCookie.status).toBe(401);
    expect(withCookie.headers.get('access-control-allow-origin')).toBeNull();
    expect((await buyer.client.get<{ deals: unknown[] }>('/deals')).deals).toEqual(before.deals);
    await context.close();
    await elsewhere.close();
  });
  it('a deal bought with the CLI is followed in the page once its kept terms are imported: a changed file is refused', async () => {
    const { buyer, apiUrl } = test.deployment;
    const home = await mkdtemp(join(tmpdir(), 'tusk-console-import-'));
    try {
      await writeFileAtomic(keyPaths(home, buyer.id).signing, buyer.signingKeyPem, 0o600);
      await writeFileAtomic(keyPaths(home, buyer.id).result, buyer.resultKeyPem, 0o600);
      const bought = await tusk(
        [
          ...['buyer', 'deal', 'cohort-cost-by-zip3', '--as', buyer.id],
          ...['--param', 'min_age=40', '--param', 'max_age=60', '--param', 'sex=F'],
          ...[
            '--jurisdiction',
            'US',
            '--purpose',
            'research',
            '--accept',
            'health',
            '--accept',
            'deidentified',
          ],
          '--wait',
        ],
        { TUSK_HOME: home, TUSK_API_URL: apiUrl },
      );
      expect(bought.code, bought.stderr).toBe(0);
      const cliDeal = /^deal (\S+): delivered$/m.exec(bought.stdout)![1]!;
      const keptText = await readFile(
        join(home, 'terms', buyer.id, `cohort_query-${cliDeal}.signed.json`),
        'utf8',
      );
      const kept = JSON.parse(keptText) as { request: Record<string, unknown>; termsHash: string };

      const { page, context, record } = await signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem);
      await page.click('button[data-role=buyer]');
      const row = page.locator(`#my-deals tr[data-deal="${cliDeal}"]`);
      // Before the import the page has no terms of its own for the deal: it refuses the answer.
      await row.getByRole('button', { name: 'Open' }).click();
      await page.locator('#deal-panel [role=alert]').waitFor();
      expect(await page.locator('#deal-panel [role=alert]').textContent()).toMatch(
        /no terms for deal .* were signed in this browser/,
      );
      const importStatus = page.locator('.terms-import [aria-live]');
      const importFile = async (name: string, text: string) => {
        await page.setInputFiles('#terms-file', {
          name,
          mimeType: 'application/json',
          buffer: Buffer.from(text),
        });
        await importStatus.locator('p').waitFor();
        return (await importStatus.textContent()) ?? '';
      };
      const changed = {
        ...kept,
        request: { ...kept.request, parameters: { min_age: 18, max_age: 90, sex: 'F' } },
      };
      expect(await importFile('changed.json', JSON.stringify(changed))).toBe(
        'Refusing the terms file: its signature does not verify (changed after signing?).',
      );
      const otherHash = { ...kept, termsHash: `sha256:${'0'.repeat(64)}` };
      expect(await importFile('hash.json', JSON.stringify(otherHash))).toMatch(
        /^Refusing the terms file: its terms hash is sha256:0{64}, but the signed terms hash to sha256:[0-9a-f]{64}\.$/,
      );
      expect(await importFile('not.json', 'not json')).toBe('Refusing the terms file: it is not JSON.');
      expect(await page.locator('#result').count()).toBe(0);

      // The genuine file: kept, and the deal opens as one bought here would.
      expect(await importFile(`cohort_query-${cliDeal}.signed.json`, keptText)).toBe(
        `Terms of deal ${cliDeal} imported: signed by you, terms ${kept.termsHash}.`,
      );
      await page.locator('#result table, #deal-panel [role=alert]').first().waitFor({ timeout: 60_000 });
      expect(await page.locator('#deal-panel [role=alert]').allTextContents()).toEqual([]);
      const opened = await openDealResult(buyer.client, buyer.resultKeyPem, cliDeal);
      const shown = opened.rows.filter((r) => r.slice(2).some((cell) => cell !== null));
      expect(await page.locator('#result tbody td').allTextContents()).toEqual(
        shown.flatMap((r) => r.map((cell) => (cell === null ? '' : String(cell)))),
      );
      await screenshot(page, 'buyer-imported-terms');
      await page.getByRole('button', { name: /^Confirm the deal/ }).click();
      await page.getByText(`Deal ${cliDeal} confirmed.`).waitFor();
      await waitForStage(buyer.client, cliDeal, (s) => s.stage === 'settled', 60_000);
      await page.click('button[data-role=buyer]');
      await expectReceiptDownloads(
        page,
        page.locator(`#my-deals tr[data-deal="${cliDeal}"]`),
        buyer.client,
        `/deals/${cliDeal}/receipt`,
        cliDeal,
      );
      // The file is read in the page: neither it nor a key nor the answer was sent anywhere.
      const sent = record.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
      for (const secret of [...keyEncodings(buyer.signingKeyPem), ...keyEncodings(buyer.resultKeyPem)])
        expect(sent).not.toContain(secret);
      expect(sent).not.toContain(String(kept.request.termsSignature));
      expect(sent).not.toContain(opened.salt);
      expect(record.pageErrors).toEqual([]);
      await context.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
  describe("an earlier deal, from the buyer's list", () => {
    let delivered: string;
    let operatorKey: string;
    /** The create request the buyer signed for the deal (with the CLI's code, outside the page). */
    let signedRequest: Record<string, unknown>;

    beforeAll(async () => {
      const { deployment } = test;
      const deal = await buyDeal(deployment, 'cohort-cost-by-zip3', { min_age: 30, max_age: 50, sex: 'M' });
      await deal.delivered();
      delivered = deal.dealId;
      signedRequest = deal.signed;
      operatorKey = (await deployment.buyer.client.get<{ publicKey: string }>('/operator/key')).publicKey;
    });

    /**
     * Keeps a signed create request in the page's store, as the page keeps what it signs itself
     * (the page computes the hash with its own code).
     */
    const keepInPage = (page: Page, request: Record<string, unknown>) =>
      page.evaluate(`(async (a) => {
        const store = await import('/console/key-store.js');
        const tusk = await import('/console/tusk-crypto.js');
        const termsHash = await tusk.termsHashOf('cohort_query', a.partyId, a.publicKey, a.request);
        await store.keepTerms(a.partyId, 'cohort_query', a.request.dealId, { request: a.request, termsHash });
      })(${JSON.stringify({
        partyId: test.deployment.buyer.id,
        publicKey: test.deployment.buyer.client.publicKey,
        request,
      })})`);

    type Rewrite<T> = (answer: T) => unknown;
    type StatusView = { scope: DecisionScope } & Record<string, unknown>;

    /** The operator runs the API: it can serve any answer at a path. Here it does. */
    async function serveRewritten<T>(page: Page, path: string, rewrite: Rewrite<T>) {
      await page.route(`**${path}`, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, json: rewrite((await response.json()) as T) });
      });
    }

    /**
     * The buyer's page, pinned to `pinned`, keeping the terms `kept` (the buyer's own unless told; null:
     * none), with the API's answers for the result and the deal's status rewritten as asked.
     */
    async function openAs(
      pinned: string,
      serve?: (sealed: { release?: ReleaseStatement }) => unknown,
      options: { kept?: Record<string, unknown> | null; status?: Rewrite<StatusView> } = {},
    ) {
      const { buyer } = test.deployment;
      const signedIn = await signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem, pinned);
      const kept = options.kept === undefined ? signedRequest : options.kept;
      if (kept) await keepInPage(signedIn.page, kept);
      if (serve) await serveRewritten(signedIn.page, `/deals/${delivered}/result`, serve);
      if (options.status) await serveRewritten(signedIn.page, `/deals/${delivered}`, options.status);
      await signedIn.page.click('button[data-role=buyer]');
      const row = signedIn.page.locator(`#my-deals tr[data-deal="${delivered}"]`);
      await row.getByRole('button', { name: 'Open' }).click();
      await signedIn.page.locator('#result table, #deal-panel [role=alert]').first().waitFor();
      return signedIn;
    }

    const refusal = async (page: Page) =>
      (await page.locator('#deal-panel [role=alert]').allTextContents()).join('\n');

    it("an answer without a valid release statement of the seller's perimeter is refused in the page", async () => {
      const forger = generateEd25519KeyPair();
      const cases: [string, (sealed: { release?: ReleaseStatement }) => unknown, RegExp][] = [
        [
          'no statement',
          ({ release: _dropped, ...rest }) => rest,
          /no well-formed release statement signed by the seller comes with the answer/,
        ],
        [
          "a statement signed by a key that is not the seller's perimeter's",
          (sealed) => ({ ...sealed, release: signReleaseStatement(sealed.release!.body, forger) }),
          /not the seller's registered perimeter key/,
        ],
        [
          'a statement whose body was changed after signing',
          (sealed) => ({
            ...sealed,
            release: { ...sealed.release!, body: { ...sealed.release!.body, epsilonCharged: 0 } },
          }),
          /the perimeter's signature does not verify/,
        ],
      ];
      for (const [name, serve, reason] of cases) {
        const { page, context } = await openAs(operatorKey, serve);
        const text = await refusal(page);
        expect(text, name).toMatch(new RegExp(`^Refusing the answer of ${delivered}: it is not what seller`));
        expect(text, name).toMatch(reason);
        expect(await page.locator('#result').count(), name).toBe(0);
        if (name === 'no statement') await screenshot(page, 'buyer-release-refused');
        await context.close();
      }
    });

    it('a log whose head is not signed by the pinned operator key is not believed', async () => {
      const { page, context } = await openAs(generateEd25519KeyPair().publicKey);
      expect(await refusal(page)).toMatch(
        /the transparency log cannot be trusted: .*not the operator's pinned key/,
      );
      expect(await page.locator('#result').count()).toBe(0);
      await context.close();
    });

    it('an answer to terms this browser did not sign is refused', async () => {
      const { page, context } = await openAs(operatorKey, undefined, { kept: null });
      expect(await refusal(page)).toMatch(
        new RegExp(
          `^Refusing the answer of ${delivered}: no terms for deal ${delivered} were signed in this browser`,
        ),
      );
      expect(await page.locator('#result').count()).toBe(0);
      await context.close();
    });

    it('a deal whose status names other terms than the ones kept is refused, and the page signs nothing about it', async () => {
      const { buyer } = test.deployment;
      const swapped = `sha256:${'e'.repeat(64)}`;
      const { page, context, record } = await openAs(operatorKey, undefined, {
        status: (status) => ({
          ...status,
          scope: { ...status.scope, subject: { ...status.scope.subject, termsHash: swapped } },
        }),
      });
      expect(await refusal(page)).toMatch(
        new RegExp(
          `^Refusing the answer of ${delivered}: deal ${delivered} names terms ${swapped}, not the sha256:[0-9a-f]{64} you signed$`,
        ),
      );
      expect(await page.locator('#result').count()).toBe(0);
      await screenshot(page, 'buyer-terms-refused');

      // Nor does it sign a dispute over the swapped scope: nothing is sent, the deal does not move.
      const row = page.locator(`#my-deals tr[data-deal="${delivered}"]`);
      await row.getByRole('button', { name: 'Dispute' }).click();
      await page.getByLabel('Reason for the dispute').fill('the counts look doubled');
      await page.getByRole('button', { name: 'Open the dispute' }).click();
      await page.getByText(/^Refusing to sign for it: deal .* names terms/).waitFor();
      expect(record.requests.filter((r) => r.method === 'POST')).toEqual([]);
      expect((await buyer.client.get<{ stage: string }>(`/deals/${delivered}`)).stage).toBe('delivered');
      await context.close();
    });

    it('a release statement of other terms than the ones kept is refused, even when the status agrees with them', async () => {
      const { buyer } = test.deployment;
      // The buyer signed again for the same deal id, other parameters; the operator ran the first terms.
      const { termsSignature: _signature, ...body } = signedRequest;
      const resigned = buyer.client.signed('cohort_query', {
        ...body,
        parameters: { min_age: 30, max_age: 50, sex: 'F' },
      });
      const { termsSignature, ...resignedBody } = resigned;
      const resignedHash = termsHashOf({
        kind: 'cohort_query',
        signer: buyer.id,
        publicKey: buyer.client.publicKey,
        body: termsBodyOf(resignedBody),
        signature: termsSignature,
      });
      const { page, context } = await openAs(operatorKey, undefined, {
        kept: resigned,
        status: (status) => ({
          ...status,
          scope: { ...status.scope, subject: { ...status.scope.subject, termsHash: resignedHash } },
        }),
      });
      const text = await refusal(page);
      expect(text).toMatch(new RegExp(`^Refusing the answer of ${delivered}: it is not what seller`));
      expect(text).toMatch(/it answers other terms than the ones the buyer signed/);
      expect(await page.locator('#result').count()).toBe(0);
      await context.close();
    });

    it('the genuine answer opens, then the buyer disputes it with a reason', async () => {
      const { buyer } = test.deployment;
      const { page, context, record } = await openAs(operatorKey);
      expect(await refusal(page)).toBe('');
      const expected = await openDealResult(buyer.client, buyer.resultKeyPem, delivered);
      expect(await page.locator('#result tbody tr').count()).toBe(
        expected.rows.filter((row) => row.slice(2).some((cell) => cell !== null)).length,
      );
      const row = page.locator(`#my-deals tr[data-deal="${delivered}"]`);
      await row.getByRole('button', { name: 'Dispute' }).click();
      await page.getByLabel('Reason for the dispute').fill('the counts for zip3 100 look doubled');
      await page.getByRole('button', { name: 'Open the dispute' }).click();
      await page.getByText(`Deal ${delivered} disputed`).waitFor();
      const status = await buyer.client.get<{ stage: string }>(`/deals/${delivered}`);
      expect(status.stage).toBe('disputed');
      // The dispute's record is started beside the deal's stage, so it may follow it by a moment.
      const dispute = await waitFor(
        () => buyer.client.get<Record<string, unknown>>(`/deals/${delivered}/dispute`).catch(() => undefined),
        (found) => found !== undefined,
      );
      expect(JSON.stringify(dispute)).toContain('the counts for zip3 100 look doubled');
      await screenshot(page, 'buyer-dispute');
      expect(record.pageErrors).toEqual([]);
      await context.close();
    });

    it('the buyer downloads the receipt of its settled deal, JSON and PDF, the ones the API signed and the CLI renders', async () => {
      const { buyer } = test.deployment;
      await waitForStage(buyer.client, dealId, (s) => s.stage === 'settled', 60_000);
      const { page, context, record } = await signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem);
      await page.click('button[data-role=buyer]');
      const row = page.locator(`#my-deals tr[data-deal="${dealId}"]`);
      const receipt = await expectReceiptDownloads(
        page,
        row,
        buyer.client,
        `/deals/${dealId}/receipt`,
        dealId,
      );
      // The buyer's own copy: it carries the openings of the parties and amounts.
      expect(receipt.openings?.parties?.value).toBeDefined();
      // The disputed deal has not settled: its PDF is refused with the API's reason, nothing downloaded.
      const downloads: string[] = [];
      page.on('download', (d) => downloads.push(d.suggestedFilename()));
      const disputed = page.locator(`#my-deals tr[data-deal="${delivered}"]`);
      await disputed.getByRole('button', { name: 'Receipt (PDF)' }).click();
      const refused = page.getByRole('alert');
      await refused.waitFor();
      expect(await refused.textContent()).toMatch(
        new RegExp(`^The API refused: ${delivered} has not settled: no receipt yet \\(invalid_state\\)$`),
      );
      expect(downloads).toEqual([]);
      expect(record.pageErrors).toEqual([]);
      await context.close();
    });
  });
});
