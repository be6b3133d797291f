import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openDealResult } from '../../cli/buyer/commands';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { TuskClient } from '../../lib/tusk-client';
import type { ResultPayload } from '../../lib/sealed-result';
import { budgetOf, startTestDeployment, type TestDeployment } from '../integration/harness';
import { CONSOLE_CSP } from '../../api/console/routes';
import Fastify from 'fastify';
import { launchChromium, recordPage, screenshot, type PageRecord } from './browser';

const SCRIPT_TITLE = '<script>alert("title")</script><img src=x onerror="alert(1)">';
const SCRIPT_DESCRIPTION = '<img src=x onerror="alert(2)"><b>bold</b>';
const pem = (name: string, text: string) => ({
  name,
  mimeType: 'application/x-pem-file',
  buffer: Buffer.from(text),
});

/** Every encoding of a PKCS#8 private key a request could carry it in: the PEM's base64, the DER, the seed. */
function keyEncodings(privateKeyPem: string): string[] {
  const base64 = privateKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(base64, 'base64');
  const seed = der.subarray(der.length - 32);
  return [
    base64,
    der.toString('base64url'),
    der.toString('hex'),
    seed.toString('base64'),
    seed.toString('base64url'),
    seed.toString('hex'),
  ];
}

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
  async function signIn(partyId: string, signingPem: string, resultPem?: string) {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page: Page = await context.newPage();
    const record: PageRecord = recordPage(page);
    const response = await page.goto(`${test.deployment.apiUrl}/console/`);
    expect(response?.headers()['content-security-policy']).toBe(CONSOLE_CSP);
    await page.fill('#party-id', partyId);
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
});
