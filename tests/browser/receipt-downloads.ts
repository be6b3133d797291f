import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { receiptPdf } from '../../audit/receipt-pdf';
import type { SignedReceipt } from '../../audit/receipt';
import type { TuskClient } from '../../lib/tusk-client';

/** A download the page offers when `button` is clicked: its file name and bytes. */
async function downloadOf(page: Page, button: Locator) {
  const download = page.waitForEvent('download');
  await button.click();
  const done = await download;
  return { name: done.suggestedFilename(), bytes: await readFile(await done.path()) };
}

/**
 * A PDF without its creation time and the file id pdfkit derives from it: the only parts that differ
 * from one rendering to the next.
 */
const timeless = (pdf: Buffer) =>
  pdf
    .toString('latin1')
    .replace(/\(D:\d{14}Z\)/g, '(D:)')
    .replace(/\/ID \[<[0-9a-f]{32}> <[0-9a-f]{32}>\]/, '');

/**
 * Downloads both receipts from `row` as the user does, and checks them against what the user's own
 * CLI would hold: the JSON equal to the API's signed receipt, the PDF the very document
 * `tusk receipt pdf` renders from it.
 */
export async function expectReceiptDownloads(
  page: Page,
  row: Locator,
  client: TuskClient,
  path: string,
  name: string,
): Promise<SignedReceipt> {
  const json = await downloadOf(page, row.getByRole('button', { name: 'Receipt (JSON)' }));
  const receipt = await client.get<SignedReceipt>(path);
  expect(json.name).toBe(`${name}.receipt.json`);
  expect(JSON.parse(json.bytes.toString('utf8'))).toEqual(receipt);
  expect(receipt.body.type).toBe('tusk.receipt/v1');

  const pdf = await downloadOf(page, row.getByRole('button', { name: 'Receipt (PDF)' }));
  expect(pdf.name).toBe(`${name}.receipt.pdf`);
  expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  expect(timeless(pdf.bytes)).toBe(timeless(await receiptPdf(receipt)));
  await page.getByText(`Receipt of ${name} downloaded (PDF).`).waitFor();
  return receipt;
}
