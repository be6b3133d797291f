import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { consoleRoutes } from '../../api/console/routes';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when missing. */
export const CHROMIUM = process.env.TUSK_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(__dirname, '../../docs/console');
/** Where each run's screenshots go (ignored by git): the console as the tests last saw it. */
const RUN_SCREENSHOTS = join(__dirname, '../../.tusk/console-screenshots');

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });

/** The console's static files alone, for tests of the page's own code (no API behind it). */
export async function serveConsoleOnly(): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify();
  await app.register(consoleRoutes);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `${address}/console/`, app };
}

/** What the page did that a person would not see: dialogs, console errors, failed scripts, requests. */
export interface PageRecord {
  dialogs: string[];
  consoleErrors: string[];
  pageErrors: string[];
  requests: { url: string; method: string; headers: Record<string, string>; body: string }[];
}

export function recordPage(page: Page): PageRecord {
  const record: PageRecord = { dialogs: [], consoleErrors: [], pageErrors: [], requests: [] };
  page.on('dialog', (dialog) => {
    record.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error') record.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => record.pageErrors.push(error.message));
  page.on('request', (request: Request) => {
    record.requests.push({
      url: request.url(),
      method: request.method(),
      headers: request.headers(),
      body: request.postData() ?? '',
    });
  });
  return record;
}

/**
 * A screenshot of the page under .tusk/console-screenshots/; with TUSK_UPDATE_SCREENSHOTS=1, into
 * docs/console/ instead, where the README's pictures are (they change with every run: times, keys).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const directory = process.env.TUSK_UPDATE_SCREENSHOTS === '1' ? SCREENSHOTS : RUN_SCREENSHOTS;
  await mkdir(directory, { recursive: true });
  await page.screenshot({ path: join(directory, `${name}.png`), fullPage: true });
}

/** Every encoding of a PKCS#8 private key a request could carry it in: the PEM's base64, the DER, the seed. */
export function keyEncodings(privateKeyPem: string): string[] {
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

/** A key file as the file input receives it. */
export const pemFile = (name: string, text: string) => ({
  name,
  mimeType: 'application/x-pem-file',
  buffer: Buffer.from(text),
});
