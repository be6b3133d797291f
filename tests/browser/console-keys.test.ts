import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { verifyRequest } from '../../lib/signed-request';
import {
  keyEncodings,
  launchChromium,
  pemFile,
  recordPage,
  serveConsoleOnly,
  type PageRecord,
} from './browser';

/**
 * Keys kept across reloads (api/console/assets/key-store.js): in IndexedDB, as the non-extractable
 * CryptoKeys imported, per party id, until "Forget keys". The page is served alone: what it signs is
 * checked here with the API's own verification.
 */
describe("the console keeps a party's keys in the browser, non-extractable, until forgotten", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let record: PageRecord;
  let url: string;
  let close: () => Promise<void>;
  const buyer = { id: 'buyer-1', signing: generateEd25519KeyPair(), result: generateX25519KeyPair() };
  const seller = { id: 'seller-1', signing: generateEd25519KeyPair() };

  beforeAll(async () => {
    const served = await serveConsoleOnly();
    url = served.url;
    close = () => served.app.close();
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    record = recordPage(page);
    await page.goto(url);
  });
  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  const statusText = async () => (await page.locator('#key-status').textContent()) ?? '';

  /** What the page keeps for a party, read with the page's own store module. */
  const kept = (partyId: string) =>
    page.evaluate<{ parties: string[]; uses: string[]; extractable: boolean[]; exported: string[] }>(
      `(async (partyId) => {
        const store = await import('/console/key-store.js');
        const keys = await store.keptKeys(partyId);
        const held = [keys.signing, keys.result].filter(Boolean);
        const exported = [];
        for (const key of held)
          for (const format of ['pkcs8', 'jwk'])
            exported.push(await crypto.subtle.exportKey(format, key.privateKey).then(() => 'exported', (e) => e.name));
        return {
          parties: await store.keptParties(),
          uses: Object.keys(keys),
          extractable: held.map((key) => key.privateKey.extractable),
          exported,
        };
      })(${JSON.stringify(partyId)})`,
    );

  /** Clicks Buyer and returns the request the page signed for the catalog (the API is absent: it fails after). */
  async function signedCatalogRequest() {
    const before = record.requests.length;
    await page.click('button[data-role=buyer]');
    await page.locator('main [role=alert]').waitFor();
    const request = record.requests.slice(before).find((r) => new URL(r.url).pathname === '/templates');
    if (!request) throw new Error('the page sent no request for the catalog');
    const { pathname, search } = new URL(request.url);
    return { method: request.method, url: pathname + search, body: request.body, headers: request.headers };
  }

  it('after a reload the buyer still signs with the kept key, which cannot be exported', async () => {
    await page.fill('#party-id', buyer.id);
    await page.setInputFiles('#signing-key', pemFile('b.ed25519.pem', buyer.signing.privateKeyPem));
    await page.getByText(`kept in this browser for ${buyer.id}`).waitFor();
    await page.setInputFiles('#result-key', pemFile('b.x25519.pem', buyer.result.privateKeyPem));
    await page.getByText(`Result key loaded (public key ${buyer.result.publicKey})`).waitFor();

    await page.reload();
    await page.getByText(`Keys kept in this browser for ${buyer.id}: signing and result`).waitFor();
    expect(await page.inputValue('#party-id')).toBe(buyer.id);
    expect(await statusText()).toContain(buyer.signing.publicKey);

    const signed = await signedCatalogRequest();
    const verdict = await verifyRequest(signed, () => [buyer.signing.publicKey], Date.now());
    expect(verdict).toMatchObject({ ok: true, partyId: buyer.id });

    const stored = await kept(buyer.id);
    expect(stored.uses.sort()).toEqual(['result', 'signing']);
    expect(stored.extractable).toEqual([false, false]);
    expect(stored.exported).toEqual([
      'InvalidAccessError',
      'InvalidAccessError',
      'InvalidAccessError',
      'InvalidAccessError',
    ]);
  });

  it("keeps each party's keys apart, and signs as the party id entered", async () => {
    await page.fill('#party-id', seller.id);
    await page.setInputFiles('#signing-key', pemFile('s.ed25519.pem', seller.signing.privateKeyPem));
    await page.getByText(`kept in this browser for ${seller.id}`).waitFor();
    await page.reload();
    await page.getByText(`Keys are kept in this browser for ${buyer.id}, ${seller.id}`).waitFor();
    expect(await page.inputValue('#party-id')).toBe('');
    await page.fill('#party-id', seller.id);
    const signed = await signedCatalogRequest();
    expect(await verifyRequest(signed, () => [seller.signing.publicKey], Date.now())).toMatchObject({
      ok: true,
      partyId: seller.id,
    });
    expect(await verifyRequest(signed, () => [buyer.signing.publicKey], Date.now())).toMatchObject({
      ok: false,
    });
  });

  it("forgetting removes the party's keys from the page and the browser, and only that party's", async () => {
    await page.fill('#party-id', buyer.id);
    await page.getByRole('button', { name: /^Forget keys/ }).click();
    await page.getByText(`The keys of ${buyer.id} are forgotten in this browser.`).waitFor();
    expect((await kept(buyer.id)).uses).toEqual([]);
    expect((await kept(buyer.id)).parties).toEqual([seller.id]);

    // Not in this page's memory either: nothing is signed as the buyer now, nor after a reload.
    await page.click('button[data-role=buyer]');
    await page.getByText('Enter your party id and load your signing key first.').waitFor();
    await page.reload();
    await page.getByText(`Keys kept in this browser for ${seller.id}`).waitFor();
    await page.fill('#party-id', buyer.id);
    const before = record.requests.length;
    await page.click('button[data-role=buyer]');
    await page.getByText('Enter your party id and load your signing key first.').waitFor();
    expect(record.requests.slice(before).filter((r) => r.headers['signature'])).toEqual([]);

    // What left the page over all of this: signatures, never a key.
    const sent = record.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
    for (const secret of [
      ...keyEncodings(buyer.signing.privateKeyPem),
      ...keyEncodings(buyer.result.privateKeyPem),
      ...keyEncodings(seller.signing.privateKeyPem),
    ])
      expect(sent).not.toContain(secret);
    expect(record.pageErrors).toEqual([]);
  });
});
