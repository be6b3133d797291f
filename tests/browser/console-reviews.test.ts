import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { perimeterSealingKeyFile } from '../../lib/perimeter-key';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import type { DeclaredColumns } from '../../query-policies/column-domains';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { SEALED_MESSAGE, type TemplateReviewStatus } from '../../workflows/template-review/shapes';
import { DEFAULT_DATASET_BUDGETS, startTestDeployment, type TestDeployment } from '../integration/harness';
import { launchChromium, recordPage, screenshot, type PageRecord } from './browser';

const DIAGNOSES = ['I10', 'E11', 'J45', 'M54', 'F32', 'K21', 'N39', 'G43', 'C50', 'Z00', 'L40', 'D50'];

/** What the seller declares of `patients`: each column's possible values, no statistic of the rows. */
const PATIENT_COLUMNS: DeclaredColumns = {
  person_id: { type: 'integer', min: 1, max: 1500 },
  age: { type: 'integer', min: 5, max: 94 },
  sex: { type: 'enum', values: ['F', 'M'] },
  zip3: { type: 'enum', values: Array.from({ length: 300 }, (_, i) => String(100 + i)) },
  diagnosis_code: { type: 'enum', values: DIAGNOSES },
  cost: { type: 'decimal', scale: 2, min: 50, max: 4050 },
  visit_date: { type: 'date', min: '2024-01-01', max: '2025-12-30' },
};

const SCRIPT_TITLE = '<script>alert("proposal")</script><img src=x onerror="alert(3)">';
const SCRIPT_DESCRIPTION = '<b>bold</b> cost per diagnosis <img src=x onerror="alert(4)">';
/** Distinctive, so a copy of it anywhere in what the browser sent is found. */
const SQL =
  'SELECT person_id, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex';

/** The seller's texts: sealed in the page, so none of them is in any request it sends. */
const CHANGES_TEXT = 'k = 20 is low for diagnoses: make it 25';
const REJECT_TEXT = 'income is not in patients, and will not be';
const SWAPPED_TEXT = 'the draft served for revision 2 is not the one you signed';

const pemFile = (name: string, text: string) => ({
  name,
  mimeType: 'application/x-pem-file',
  buffer: Buffer.from(text),
});

describe('template reviews in the console, in Chromium, against the real stack', () => {
  let test: TestDeployment;
  let browser: Browser;
  const opened: { context: BrowserContext; record: PageRecord }[] = [];

  const draftFor = (templateId: string, changes: Partial<QueryTemplate> = {}): QueryTemplate => ({
    id: templateId,
    version: 1,
    seller: test.seller.id,
    title: SCRIPT_TITLE,
    description: SCRIPT_DESCRIPTION,
    dataset: 'patients',
    sql: SQL,
    parameters: {
      min_age: { type: 'integer', min: 0, max: 120 },
      max_age: { type: 'integer', min: 0, max: 120 },
      sex: { type: 'enum', values: ['F', 'M'] },
    },
    constraints: [{ lessOrEqual: ['min_age', 'max_age'] }],
    dimensions: ['diagnosis_code'],
    metrics: [
      { name: 'patients', aggregate: 'count_units' },
      { name: 'total_cost', aggregate: 'sum', column: 'cost', min: 0, max: 4000 },
    ],
    privacyUnit: 'person_id',
    maxGroupsPerUnit: 3,
    minCohortSize: 20,
    privacy: { mechanism: 'discrete_laplace', epsilon: 2 },
    price: '500',
    compliance: { jurisdictions: ['US'], purposes: ['research'], dataClasses: ['health', 'deidentified'] },
    multiSeller: false,
    privateSelection: false,
    groupDomain: { diagnosis_code: DIAGNOSES },
    ...changes,
  });

  beforeAll(async () => {
    test = await startTestDeployment('console-review', async (s) => {
      await s.publishDemoTemplate();
      await s.publishDatasetPolicy({
        patients: { ...DEFAULT_DATASET_BUDGETS.patients!, columns: PATIENT_COLUMNS },
      });
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  /** A fresh browser profile on the console, signed in with these key files; its requests recorded. */
  async function signIn(partyId: string, signingPem: string, resultPem?: string) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page: Page = await context.newPage();
    const record = recordPage(page);
    opened.push({ context, record });
    await page.goto(`${test.deployment.apiUrl}/console/`);
    await page.fill('#party-id', partyId);
    await page.setInputFiles('#signing-key', pemFile(`${partyId}.ed25519.pem`, signingPem));
    await page.getByText('Signing key loaded').waitFor();
    if (resultPem) {
      await page.setInputFiles('#result-key', pemFile(`${partyId}.x25519.pem`, resultPem));
      await page.getByText('Result key loaded').waitFor();
    }
    return { context, page, record };
  }

  const asBuyer = () => {
    const { buyer } = test.deployment;
    return signIn(buyer.id, buyer.signingKeyPem, buyer.resultKeyPem);
  };
  const asSeller = async () => {
    const signedIn = await signIn(test.seller.id, test.seller.keys.privateKeyPem);
    await signedIn.page.click('button[data-role=reviews]');
    await signedIn.page.locator('#proposals').waitFor();
    return signedIn;
  };
  const sealingKeyPem = () =>
    readFile(perimeterSealingKeyFile(join(test.home, 'perimeter', test.seller.id)), 'utf8');
  const status = (reviewId: string) =>
    test.deployment.buyer.client.get<TemplateReviewStatus>(`/template-reviews/${reviewId}`);

  /** The buyer's proposal page with a template file read into the form, and the form sent. */
  async function propose(page: Page, draft: QueryTemplate): Promise<string> {
    await page.click('button[data-role=proposals]');
    await page.setInputFiles('#draft-file', {
      name: `${draft.id}.json`,
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(draft)),
    });
    await expect.poll(() => page.inputValue('#draft-sql')).toBe(draft.sql);
    await page.getByRole('button', { name: 'Seal, sign and propose' }).click();
    const sent = page.locator('#proposal-status').getByText(/^Sent: review /);
    await sent.or(page.locator('#proposal-status [role=alert]')).waitFor({ timeout: 60_000 });
    expect(await page.locator('#proposal-status [role=alert]').allTextContents()).toEqual([]);
    return ((await sent.textContent()) ?? '').replace(/^Sent: review /, '').replace(/\.$/, '');
  }

  let reviewId: string;
  const templateId = 'console-cost-by-dx';

  it('a buyer proposes in the page: sealed and signed there, previewed by the perimeter, the preview checked', async () => {
    const { page } = await asBuyer();
    reviewId = await propose(page, draftFor(templateId));
    const revision = page.locator('#review-panel section[data-revision="1"]');
    await revision.getByText("Preview signed by the seller's perimeter key").waitFor({ timeout: 120_000 });
    const preview = (await status(reviewId)).revisions[0]!.preview!;
    if (preview.kind !== 'previewed') throw new Error(`not previewed: ${JSON.stringify(preview)}`);
    const cells = await revision.locator('table').first().locator('tbody td').allTextContents();
    expect(cells).toEqual(
      expect.arrayContaining([
        `${preview.groups} groups on the twin, at most ${preview.maxGroups}`,
        String(preview.epsilon),
        String(preview.answersPerBuyer),
        String(preview.answersTotal),
      ]),
    );
    await screenshot(page, 'buyer-proposal');
  });

  it('the seller opens the draft in the page with its perimeter sealing key and asks for changes', async () => {
    const { page } = await asSeller();
    const row = page.locator(`#proposals tr[data-review="${reviewId}"]`);
    await row.getByRole('button', { name: 'Open' }).click();
    // Without the sealing key: what the API holds, and why there is no SQL.
    await page.getByText("The draft is sealed to your perimeter's sealing key").waitFor();
    expect(await page.locator('#draft-sql').count()).toBe(0);
    // Another X25519 key: the page says it is not the one the log registers, and it opens nothing.
    const stranger = generateX25519KeyPair();
    await page.setInputFiles('#sealing-key', pemFile('other.x25519.pem', stranger.privateKeyPem));
    await page.getByText(/the transparency log registers .* this key opens none of their drafts/).waitFor();
    await row.getByRole('button', { name: 'Open' }).click();
    await page.getByText('revision 1 does not open with this perimeter key').waitFor();
    expect(await page.locator('#draft-sql').count()).toBe(0);
    await page.setInputFiles('#sealing-key', pemFile('perimeter-sealing.x25519.pem', await sealingKeyPem()));
    await page.getByText('the one the transparency log registers').waitFor();
    await row.getByRole('button', { name: 'Open' }).click();
    await page.locator('#draft-sql').waitFor();
    expect(await page.locator('#draft-sql').textContent()).toBe(SQL);
    expect(await page.getByRole('cell', { name: SCRIPT_TITLE, exact: true }).count()).toBe(1);
    // The preview's metrics by the names the opened draft gives them.
    await page.getByRole('cell', { name: 'total_cost', exact: true }).waitFor();
    // Against the seller's nearest template (the demo's, by zip3): the fields that differ.
    const nearest = page.locator('#nearest');
    expect(await nearest.locator('th').allTextContents()).toEqual([
      'Field',
      'This draft',
      'cohort-cost-by-zip3',
    ]);
    expect(await nearest.locator('tr', { hasText: 'dimensions' }).locator('td').allTextContents()).toEqual([
      'dimensions',
      '["diagnosis_code"]',
      '["zip3","diagnosis_code"]',
    ]);
    // The seller moves the deadline (a signed decision too).
    await page.fill('#review-deadline', '2027-01-31T12:00');
    await page.getByRole('button', { name: 'Set the deadline' }).click();
    await expect
      .poll(async () => (await status(reviewId)).expiresAt)
      .toBe(new Date('2027-01-31T12:00').getTime());
    await page.getByLabel('Message on revision 1').fill(CHANGES_TEXT);
    await page.getByRole('button', { name: 'Request changes' }).click();
    // A hang detector, not a speed check: the note is sealed, signed and taken by a workflow update,
    // which took over Playwright's default 30 s once in CI beside three other lanes on two cores.
    await page.locator('#review-stage', { hasText: 'Stage: changes_requested' }).waitFor({ timeout: 90_000 });
    // The API holds the sealed note's reference and hash; the page opens it again with the sealing key.
    const [comment] = (await status(reviewId)).comments;
    expect(comment).toMatchObject({
      by: test.seller.id,
      kind: 'request_changes',
      revision: 1,
      message: SEALED_MESSAGE,
      note: { ref: expect.stringMatching(/^sha256:/), hash: expect.stringMatching(/^sha256:/) },
    });
    await page.locator('.comments li', { hasText: CHANGES_TEXT }).waitFor();
    await screenshot(page, 'seller-review');
  });

  it('the buyer opens its own sealed copy, revises it, and the revision is previewed', async () => {
    const { page } = await asBuyer();
    await page.click('button[data-role=proposals]');
    await page
      .locator(`#my-proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await page.locator('.comments li', { hasText: CHANGES_TEXT }).waitFor();
    await page.getByRole('button', { name: /^Revise/ }).click();
    await page.getByRole('button', { name: `Seal, sign and send revision 2 of ${reviewId}` }).waitFor();
    expect(await page.inputValue('#draft-sql')).toBe(SQL);
    await page.fill('#draft-k', '25');
    await page.getByRole('button', { name: /^Seal, sign and send revision 2/ }).click();
    await page
      .locator('#review-panel section[data-revision="2"]')
      .getByText("Preview signed by the seller's perimeter key")
      .waitFor({ timeout: 120_000 });
    expect((await status(reviewId)).revisions.map((r) => r.revision)).toEqual([1, 2]);
  });

  it("a preview the operator made up is shown as not verified, and the seller's page refuses to approve on it", async () => {
    const seller = await signIn(test.seller.id, test.seller.keys.privateKeyPem);
    // The operator runs the API: it serves a preview with a better-looking typical value.
    await seller.page.route(`**/template-reviews/${reviewId}`, async (route) => {
      const response = await route.fetch();
      const served = (await response.json()) as TemplateReviewStatus;
      for (const r of served.revisions)
        if (r.preview?.kind === 'previewed') r.preview.typicalCount = (r.preview.typicalCount ?? 0) * 10;
      await route.fulfill({ response, json: served });
    });
    await seller.page.click('button[data-role=reviews]');
    await seller.page.setInputFiles(
      '#sealing-key',
      pemFile('perimeter-sealing.x25519.pem', await sealingKeyPem()),
    );
    await seller.page.getByText('the one the transparency log registers').waitFor();
    await seller.page
      .locator(`#proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await seller.page.locator('#draft-sql').waitFor();
    expect(await seller.page.locator('section[data-revision="2"]').getByRole('alert').textContent()).toBe(
      "Preview NOT verified: the preview is not signed by the seller's perimeter key",
    );
    await seller.page.getByRole('button', { name: 'Approve: sign revision 2 as my template' }).click();
    await seller.page
      .locator('#decision-status')
      .getByText("Not approving revision 2: the preview is not signed by the seller's perimeter key")
      .waitFor();
    expect(seller.record.requests.filter((r) => r.url.endsWith('/approval'))).toEqual([]);
    expect((await status(reviewId)).stage).toBe('open');
    await seller.context.close();
  });

  it('when the operator swaps the current draft, the seller still answers: sealed to the reply key of the newest revision that opens', async () => {
    const seller = await signIn(test.seller.id, test.seller.keys.privateKeyPem);
    // The operator serves revision 1's sealed draft as revision 2's: it opens, but is not what was signed.
    const first = await test.deployment.buyer.client.get<{ sealed: string }>(
      `/template-reviews/${reviewId}/revisions/1/draft`,
    );
    await seller.page.route(`**/template-reviews/${reviewId}/revisions/2/draft`, async (route) => {
      const response = await route.fetch();
      const served = (await response.json()) as { sealed: string };
      await route.fulfill({ response, json: { ...served, sealed: first.sealed } });
    });
    await seller.page.click('button[data-role=reviews]');
    await seller.page.setInputFiles(
      '#sealing-key',
      pemFile('perimeter-sealing.x25519.pem', await sealingKeyPem()),
    );
    await seller.page.getByText('the one the transparency log registers').waitFor();
    await seller.page
      .locator(`#proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await seller.page.getByText(/revision 2: the sealed draft/).waitFor();
    expect(await seller.page.locator('#draft-sql').count()).toBe(0);
    expect(await seller.page.getByText(/only you will read what you write here/).count()).toBe(0);
    await seller.page.getByLabel('Message on revision 2').fill(SWAPPED_TEXT);
    await seller.page.getByRole('button', { name: 'Comment' }).click();
    await seller.page.locator('.comments li', { hasText: SWAPPED_TEXT }).waitFor();
    expect((await status(reviewId)).comments.at(-1)).toMatchObject({
      kind: 'comment',
      revision: 2,
      message: SEALED_MESSAGE,
    });
    await seller.context.close();

    const { page } = await asBuyer();
    await page.click('button[data-role=proposals]');
    await page
      .locator(`#my-proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await page.locator('#review-panel .comments li', { hasText: SWAPPED_TEXT }).waitFor();
  });

  it('the seller approves in the page with its price; the buyer sees the template in the catalog, its title as text', async () => {
    const seller = await asSeller();
    await seller.page.setInputFiles(
      '#sealing-key',
      pemFile('perimeter-sealing.x25519.pem', await sealingKeyPem()),
    );
    await seller.page.getByText('Perimeter sealing key loaded').waitFor();
    await seller.page
      .locator(`#proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await seller.page.locator('#draft-sql').waitFor();
    await seller.page.fill('#approve-price', '800');
    await seller.page.fill('#approve-purposes', 'research, public-health');
    await seller.page.getByRole('button', { name: 'Approve: sign revision 2 as my template' }).click();
    await seller.page.locator('#review-stage', { hasText: 'Stage: approved' }).waitFor();

    const approved = await status(reviewId);
    const catalog = await test.deployment.buyer.client.get<{
      templates: (QueryTemplate & { hash: string })[];
    }>('/templates');
    const entry = catalog.templates.find((t) => t.id === templateId)!;
    expect(entry).toMatchObject({ price: '800', minCohortSize: 25, seller: test.seller.id });
    expect(entry.hash).toBe(approved.approvedTemplateHash);
    const signed = { ...draftFor(templateId, { minCohortSize: 25, price: '800' }) };
    signed.compliance = { ...signed.compliance, purposes: ['research', 'public-health'] };
    expect(approved.approvedTemplateHash).toBe(templateHash({ ...signed, review: { reviewId } }));

    const { page, record } = await asBuyer();
    await page.click('button[data-role=proposals]');
    await page
      .locator(`#my-proposals tr[data-review="${reviewId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await page.getByRole('button', { name: 'Buy it in the catalog' }).click();
    const row = page.locator('#catalog tr', { hasText: templateId });
    await row.waitFor();
    expect(await row.locator('td').first().textContent()).toBe(SCRIPT_TITLE);
    await row.getByRole('button', { name: 'Choose' }).click();
    await page.locator('#deal-panel h3').waitFor();
    expect(await page.locator('#deal-panel h3').textContent()).toBe(SCRIPT_TITLE);
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    await page.waitForTimeout(500);
    expect(record.dialogs).toEqual([]);
    await screenshot(page, 'buyer-approved-in-catalog');
  });

  it('a draft naming a column the dataset lacks comes back refused, every problem with its fix; the seller rejects it', async () => {
    const { page } = await asBuyer();
    const refusedId = await propose(
      page,
      draftFor('console-bad-column', {
        sql: 'SELECT person_id, diagnosis_code, cost, income FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex',
      }),
    );
    const refused = page.locator('#review-panel .preview-refused');
    await refused.waitFor({ timeout: 120_000 });
    expect(await refused.getByRole('alert').textContent()).toMatch(
      /^The seller's perimeter refused this draft: /,
    );
    const issues = await refused.locator('tbody tr').allTextContents();
    expect(issues.join('\n')).toMatch(/unknown_column/);
    expect(issues.join('\n')).toMatch(/name only the dataset's declared columns/);
    await screenshot(page, 'buyer-proposal-refused');

    const seller = await asSeller();
    const openRefused = () =>
      seller.page
        .locator(`#proposals tr[data-review="${refusedId}"]`)
        .getByRole('button', { name: 'Open' })
        .click();
    await openRefused();
    // Without the sealing key the lint problems stay sealed, and nothing is sent in clear.
    await seller.page
      .getByText(/lint problem\(s\) are sealed to the seller's perimeter and to you/)
      .waitFor();
    await seller.page.getByLabel('Message on revision 1').fill(REJECT_TEXT);
    await seller.page.getByRole('button', { name: 'Reject' }).click();
    await seller.page
      .locator('#decision-status')
      .getByText(/Load your perimeter's sealing key/)
      .waitFor();
    expect((await status(refusedId)).stage).toBe('open');
    await seller.page.setInputFiles(
      '#sealing-key',
      pemFile('perimeter-sealing.x25519.pem', await sealingKeyPem()),
    );
    await seller.page.getByText('the one the transparency log registers').waitFor();
    await openRefused();
    await seller.page.locator('#draft-sql').waitFor();
    expect((await seller.page.locator('.preview-refused tbody tr').allTextContents()).join('\n')).toMatch(
      /unknown_column/,
    );
    // No approval without a preview of the perimeter's: only the messages are offered.
    await seller.page.getByLabel('Message on revision 1').fill(REJECT_TEXT);
    expect(await seller.page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
    await seller.page.getByRole('button', { name: 'Reject' }).click();
    await seller.page.locator('#review-stage', { hasText: 'Stage: rejected' }).waitFor();
    expect(await seller.page.getByLabel('Message on revision 1').count()).toBe(0);
    expect((await status(refusedId)).comments).toMatchObject([
      { kind: 'reject', message: SEALED_MESSAGE, note: { ref: expect.stringMatching(/^sha256:/) } },
    ]);
    await seller.page.locator('.comments li', { hasText: REJECT_TEXT }).waitFor();

    // The proposer opens the reason with its result key; a page without that key says it is sealed.
    await page
      .locator(`#my-proposals tr[data-review="${refusedId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await page.locator('#review-panel .comments li', { hasText: REJECT_TEXT }).waitFor();
    const keyless = await signIn(test.deployment.buyer.id, test.deployment.buyer.signingKeyPem);
    await keyless.page.click('button[data-role=proposals]');
    await keyless.page
      .locator(`#my-proposals tr[data-review="${refusedId}"]`)
      .getByRole('button', { name: 'Open' })
      .click();
    await keyless.page
      .locator('#review-panel .comments li', { hasText: 'sealed: load your result' })
      .waitFor();
    await keyless.page
      .getByText(/lint problem\(s\) are sealed to the seller's perimeter and to you/)
      .waitFor();
    expect(await keyless.page.locator('#review-panel').textContent()).not.toContain(REJECT_TEXT);
  });

  it('no recorded request carried a draft in clear, a private key, or a cookie; nothing ran from a proposal', async () => {
    const draftText = [
      SQL,
      JSON.stringify(SQL).slice(1, -1),
      encodeURIComponent(SQL),
      'BETWEEN $min_age',
      JSON.stringify(SCRIPT_TITLE).slice(1, -1),
      JSON.stringify(SCRIPT_DESCRIPTION).slice(1, -1),
    ];
    const privateKeys = [
      test.deployment.buyer.signingKeyPem,
      test.deployment.buyer.resultKeyPem,
      test.seller.keys.privateKeyPem,
      await sealingKeyPem(),
    ].flatMap((pem) => {
      const base64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      const seed = Buffer.from(base64, 'base64').subarray(-32);
      return [base64, seed.toString('base64'), seed.toString('base64url'), seed.toString('hex')];
    });
    const requests = opened.flatMap(({ record }) => record.requests);
    const text = (list: typeof requests) =>
      list.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
    // Three sealed drafts and three sealed notes (the change request, the comment, the reject reason).
    expect(requests.filter((r) => r.method === 'POST' && r.url.endsWith('/blobs'))).toHaveLength(6);
    // Approving is publishing: the seller's signed template (its SQL included) goes to the catalog
    // then, as `tusk seller review approve` sends it. Every other request carries no draft text.
    const isApproval = (r: (typeof requests)[number]) => r.method === 'POST' && r.url.endsWith('/approval');
    expect(requests.filter(isApproval)).toHaveLength(1);
    const beforePublishing = text(requests.filter((r) => !isApproval(r)));
    for (const secret of draftText) expect(beforePublishing).not.toContain(secret);
    const sent = text(requests);
    for (const secret of privateKeys) expect(sent).not.toContain(secret);
    // The seller's texts went out sealed only, in no request (the approval included).
    for (const comment of [CHANGES_TEXT, SWAPPED_TEXT, REJECT_TEXT])
      for (const form of [
        comment,
        JSON.stringify(comment).slice(1, -1),
        encodeURIComponent(comment),
        'make it 25',
      ])
        expect(sent).not.toContain(form);
    expect(sent).not.toMatch(/cookie/i);
    for (const { record } of opened) {
      expect(record.dialogs).toEqual([]);
      expect(record.pageErrors).toEqual([]);
      expect(record.consoleErrors).toEqual([]);
    }
    for (const { context } of opened) await context.close();
  });
});
