/**
 * A real Chromium for the web UI tests: Debian's `chromium` package (installed
 * by `make install-test`; no browser download) driven by playwright-core,
 * headless. One browser per test file; each test takes a fresh context
 * (cookies apart) with `newPage`. Closed at teardown.
 *
 * `buildUiAssets` bundles server/ui/app/ into a temporary directory of the
 * test's own, so the tests always run the sources, not an older dist/ui/.
 *
 * Screenshots: `screenshot(page, name)` writes `name.png` into the directory
 * named by TANDEM_SCREENSHOTS (`make screenshots`), and does nothing without it.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildUi } from '../../server/ui/build.js';
import { tempDir, type Teardown } from './tmp.js';

export const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export async function startBrowser(t: Teardown): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run \`make install-test\` (Debian package chromium) or set TANDEM_CHROMIUM`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  // Chromium talks to playwright over a pipe and exits when the pipe closes, so a test process that dies takes it along.
  t.teardown(() => browser.close());
  return browser;
}

/** The web UI built from the sources into a temp dir: pass it as the job server's `ui.dir`. */
export async function buildUiAssets(t: Teardown): Promise<string> {
  const dir = await tempDir(t, 'ui');
  await buildUi(dir, { minify: false });
  return dir;
}

/** A page in a fresh browser context (its own cookies), closed at teardown. Page errors fail loudly in the log. */
export async function newPage(t: Teardown, browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 860 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`browser page error: ${e.message}\n`));
  return page;
}

/** Log in through the HTML login form (the way a user does) and land on `next`. */
export async function loginAs(page: Page, user: string, password: string, next = '/'): Promise<void> {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((u) => u.pathname + u.search === next), page.getByRole('button', { name: 'Log in' }).click()]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.TANDEM_SCREENSHOTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}
