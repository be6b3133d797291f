import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { accessTokenContext, ACCESS_TOKEN_HEADER } from '../../lib/access-token';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { open } from '../../lib/sealed-box';
import { termsBodyOf, termsHashOf } from '../../lib/signed-terms';
import { openResult, type ResultPayload } from '../../lib/sealed-result';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from '../integration/harness';
import { terminateRunning, waitFor } from '../integration/lifecycle-harness';
import { keyEncodings, launchChromium, pemFile, recordPage, screenshot } from './browser';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
type StatusAnswer = { scope: { subject: Record<string, string> } } & Record<string, unknown>;
type DeliveryAnswer = { results: { release?: unknown }[] } & Record<string, unknown>;
/** The demo template's group columns (zip3, sex) lead each row. */
const DIMENSIONS = 2;

/** A period's first answer, opened with the CLI's own code (the access token, then the sealed answer). */
async function openFirstAnswer(test: TestDeployment, subscriptionId: string, period: number) {
  const { buyer } = test.deployment;
  const sealed = await buyer.client.get<{ period: number; sealedToken: string }>(
    `/subscriptions/${subscriptionId}/token`,
  );
  const token = await open(
    Buffer.from(sealed.sealedToken, 'base64'),
    buyer.resultKeyPem,
    accessTokenContext(subscriptionId, sealed.period),
  );
  const { body } = await buyer.client.request<{
    results: { runId: string; commitment: string; ciphertext: string }[];
  }>('GET', `/subscriptions/${subscriptionId}/deliveries/${period}`, undefined, {
    [ACCESS_TOKEN_HEADER]: token.toString(),
  });
  const [first] = body.results;
  return openResult(
    Buffer.from(first!.ciphertext, 'base64'),
    buyer.resultKeyPem,
    first!.runId,
    first!.commitment,
  );
}

describe("the buyer's subscriptions in the console, in Chromium, against the real stack", () => {
  let test: TestDeployment;
  let browser: Browser;
  const subscriptionId = `sub-${crypto.randomUUID()}`;
  let signedRequest: Record<string, unknown>;
  /** Period 1's first answer, opened with the CLI's code. */
  let expected: ResultPayload;
  /** Subscriptions the page made. */
  const subscribed: string[] = [];
  const openWithCli = (id: string, period: number) => openFirstAnswer(test, id, period);

  beforeAll(async () => {
    test = await startTestDeployment(
      'console-subs',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      { env: { TUSK_MIN_PERIOD_MS: '1000' } },
    );
    const { buyer } = test.deployment;
    const { templates } = await buyer.client.get<{
      templates: { id: string; seller: string; hash: string }[];
    }>('/templates');
    signedRequest = buyer.client.signed('subscription', {
      subscriptionId,
      queries: [
        {
          templateId: templates[0]!.id,
          sellerId: templates[0]!.seller,
          templateHash: templates[0]!.hash,
          parameters: PARAMETERS,
        },
      ],
      pricePerPeriod: '1000',
      // Long enough that the tests below run while a period's access token still works.
      periodSeconds: 20,
      periods: 3,
      buyerPublicKey: buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
    });
    await buyer.client.request('POST', '/subscriptions', signedRequest);
    await waitFor(
      () => buyer.client.get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`),
      (s) => s.deliveries.some((d) => d.period === 1),
    );
    expected = await openWithCli(subscriptionId, 1);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (test)
      await terminateRunning(test.temporal, [subscriptionId, ...subscribed].map(subscriptionWorkflowId));
    await test?.close();
  });

  /** Keeps a signed create request in the page's store, as the page keeps what it signs itself. */
  const keepInPage = (page: Page, request: Record<string, unknown>) =>
    page.evaluate(`(async (a) => {
      const store = await import('/console/key-store.js');
      const tusk = await import('/console/tusk-crypto.js');
      const termsHash = await tusk.termsHashOf('subscription', a.partyId, a.publicKey, a.request);
      await store.keepTerms(a.partyId, 'subscription', a.id, { request: a.request, termsHash });
    })(${JSON.stringify({
      partyId: test.deployment.buyer.id,
      publicKey: test.deployment.buyer.client.publicKey,
      id: subscriptionId,
      request,
    })})`);

  /**
   * The buyer's page on period 1 of the subscription, keeping the buyer's terms unless told not to,
   * with the API's answer at `path` rewritten as the operator (who runs the API) may.
   */
  async function openPeriodOne(
    options: { keep?: boolean; rewrite?: [string, (answer: never) => unknown] } = {},
  ) {
    const { buyer } = test.deployment;
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const record = recordPage(page);
    await page.goto(`${test.deployment.apiUrl}/console/`);
    await page.fill('#party-id', buyer.id);
    await page.setInputFiles('#signing-key', pemFile('b.ed25519.pem', buyer.signingKeyPem));
    await page.getByText('Signing key loaded').waitFor();
    await page.setInputFiles('#result-key', pemFile('b.x25519.pem', buyer.resultKeyPem));
    await page.getByText('Result key loaded').waitFor();
    if (options.keep !== false) await keepInPage(page, signedRequest);
    if (options.rewrite) {
      const [path, rewrite] = options.rewrite;
      await page.route(`**${path}`, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, json: rewrite((await response.json()) as never) });
      });
    }
    await page.click('button[data-role=buyer]');
    await page
      .locator(`#my-subscriptions tr[data-subscription="${subscriptionId}"]`)
      .getByRole('button', { name: 'Status' })
      .click();
    await page
      .locator('#deliveries tr[data-period="1"]')
      .getByRole('button', { name: 'Open period 1' })
      .click();
    await page
      .locator('#period-answers .delivery-result table, #period-answers [role=alert]')
      .first()
      .waitFor();
    const alerts = (await page.locator('#period-answers [role=alert]').allTextContents()).join('\n');
    return { page, context, record, alerts };
  }

  it('lists the subscription with its status and opens a delivered answer in the page; no key or answer crosses the wire', async () => {
    const { buyer } = test.deployment;
    const { page, context, record, alerts } = await openPeriodOne();
    expect(alerts).toBe('');
    const status = await buyer.client.get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`);
    expect(await page.locator('#subscription > h3').textContent()).toMatch(
      new RegExp(`^Subscription ${subscriptionId}: (active|completed)$`),
    );
    expect(await page.locator('#deliveries tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(status.deliveries.length).toBeGreaterThanOrEqual(1);

    const shown = expected.rows.filter((row) => row.slice(DIMENSIONS).some((cell) => cell !== null));
    expect(shown.length).toBeGreaterThan(0);
    const first = page.locator('#period-answers .delivery-result').first();
    expect(await first.locator('tbody td').allTextContents()).toEqual(
      shown.flatMap((row) => row.map((cell) => (cell === null ? '' : String(cell)))),
    );
    await screenshot(page, 'buyer-subscription');

    const sent = record.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
    for (const secret of [...keyEncodings(buyer.signingKeyPem), ...keyEncodings(buyer.resultKeyPem)])
      expect(sent).not.toContain(secret);
    expect(sent).not.toContain(expected.salt);
    for (const row of shown) expect(sent).not.toContain(JSON.stringify(row));
    expect(record.pageErrors).toEqual([]);
    expect(record.consoleErrors).toEqual([]);
    await context.close();
  });

  it('refuses the answers of a subscription whose terms this browser did not sign', async () => {
    const { page, context, alerts } = await openPeriodOne({ keep: false });
    expect(alerts).toMatch(
      new RegExp(
        `^Refusing the answers of subscription ${subscriptionId}: no terms for subscription ${subscriptionId} were signed in this browser`,
      ),
    );
    expect(await page.locator('.delivery-result').count()).toBe(0);
    await context.close();
  });

  it('refuses a subscription whose status names other terms than the ones kept', async () => {
    const swapped = `sha256:${'e'.repeat(64)}`;
    const { page, context, alerts } = await openPeriodOne({
      rewrite: [
        `/subscriptions/${subscriptionId}`,
        (status: StatusAnswer) => ({
          ...status,
          scope: { ...status.scope, subject: { ...status.scope.subject, termsHash: swapped } },
        }),
      ],
    });
    expect(alerts).toMatch(new RegExp(`names terms ${swapped}, not the sha256:[0-9a-f]{64} you signed$`));
    expect(await page.locator('.delivery-result').count()).toBe(0);
    await context.close();
  });

  it("refuses a delivered answer without the seller's perimeter's release statement", async () => {
    const { page, context, alerts } = await openPeriodOne({
      rewrite: [
        `/subscriptions/${subscriptionId}/deliveries/1`,
        (delivery: DeliveryAnswer) => ({
          ...delivery,
          results: delivery.results.map(({ release: _dropped, ...rest }) => rest),
        }),
      ],
    });
    expect(alerts).toMatch(
      /^Refusing query 0 \(.+\): it is not what seller .+'s perimeter released: no well-formed release statement/,
    );
    expect(await page.locator('.delivery-result').count()).toBe(0);
    await context.close();
  });

  it('the buyer subscribes in the page, signed there as the CLI signs; it runs on those terms and its period opens in the page', async () => {
    const { buyer } = test.deployment;
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const record = recordPage(page);
    await page.goto(`${test.deployment.apiUrl}/console/`);
    await page.fill('#party-id', buyer.id);
    await page.setInputFiles('#signing-key', pemFile('b.ed25519.pem', buyer.signingKeyPem));
    await page.getByText('Signing key loaded').waitFor();
    await page.setInputFiles('#result-key', pemFile('b.x25519.pem', buyer.resultKeyPem));
    await page.getByText('Result key loaded').waitFor();
    await page.click('button[data-role=buyer]');
    await page
      .locator('#catalog tr', { hasText: 'cohort-cost-by-zip3' })
      .getByRole('button', { name: 'Choose' })
      .click();
    await page.locator('meter#budget-meter').waitFor();
    await page.fill('#param-min_age', String(PARAMETERS.min_age));
    await page.fill('#param-max_age', String(PARAMETERS.max_age));
    await page.selectOption('#param-sex', PARAMETERS.sex);
    await page.selectOption('#jurisdiction', RESEARCH_IN_US.jurisdiction);
    await page.selectOption('#purpose', RESEARCH_IN_US.purpose);
    for (const dataClass of RESEARCH_IN_US.acceptedDataClasses)
      await page.getByLabel(dataClass, { exact: true }).check();
    // A period that is not a whole number is refused before anything is signed or sent.
    await page.fill('#period-seconds', '2.5');
    await page.getByRole('button', { name: /^Subscribe for / }).click();
    await page.getByText('The period takes a whole number from 1.').waitFor();
    expect(record.requests.filter((r) => r.method === 'POST')).toEqual([]);

    // A period long enough that its access token still works while the test opens its answer.
    await page.fill('#period-seconds', '60');
    await page.fill('#periods', '2');
    await page.getByRole('button', { name: /^Subscribe for / }).click();
    const said = page.getByText(/^Subscription [0-9a-f-]{36}: /);
    await said.waitFor();
    const id = /^Subscription (\S+): /.exec((await said.textContent()) ?? '')![1]!;
    subscribed.push(id);

    // What the page sent is terms the buyer's key signed, and the subscription runs on exactly them.
    const posted = record.requests.find((r) => r.method === 'POST' && r.url.endsWith('/subscriptions'));
    const { termsSignature, ...body } = JSON.parse(posted!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      subscriptionId: id,
      periodSeconds: 60,
      periods: 2,
      buyerPublicKey: buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
      queries: [{ templateId: 'cohort-cost-by-zip3', parameters: PARAMETERS }],
    });
    const status = await waitFor(
      () => buyer.client.get<SubscriptionStatus>(`/subscriptions/${id}`),
      (s) => s.scope !== undefined && s.deliveries.some((d) => d.period === 1),
    );
    expect(status.scope!.subject.termsHash).toBe(
      termsHashOf({
        kind: 'subscription',
        signer: buyer.id,
        publicKey: buyer.client.publicKey,
        body: termsBodyOf(body),
        signature: termsSignature as string,
      }),
    );

    // It is in the list; its first period opens in the page, cell for cell the CLI's answer.
    const fromCli = await openWithCli(id, 1);
    const row = page.locator(`#my-subscriptions tr[data-subscription="${id}"]`);
    await row.getByRole('button', { name: 'Status' }).click();
    await page
      .locator('#deliveries tr[data-period="1"]')
      .getByRole('button', { name: 'Open period 1' })
      .click();
    await page
      .locator('#period-answers .delivery-result table, #period-answers [role=alert]')
      .first()
      .waitFor();
    expect(await page.locator('#period-answers [role=alert]').allTextContents()).toEqual([]);
    const shown = fromCli.rows.filter((r) => r.slice(DIMENSIONS).some((cell) => cell !== null));
    expect(shown.length).toBeGreaterThan(0);
    expect(
      await page.locator('#period-answers .delivery-result').first().locator('tbody td').allTextContents(),
    ).toEqual(shown.flatMap((r) => r.map((cell) => (cell === null ? '' : String(cell)))));
    await screenshot(page, 'buyer-subscribed');
    const sent = record.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
    for (const secret of [...keyEncodings(buyer.signingKeyPem), ...keyEncodings(buyer.resultKeyPem)])
      expect(sent).not.toContain(secret);
    expect(record.pageErrors).toEqual([]);
    await context.close();
  });
});
