// Debian's Chromium (/usr/bin/chromium, which test/setup/system-deps.ts installs when missing),
// headless, driven by playwright-core: the package without the browser downloads, since the
// browser comes from Debian. Closed on the test's teardown, with every page it opened.

import { chromium, type Browser, type Page } from 'playwright-core';
import type { Teardownable } from './broker-process.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Launches headless Chromium, closed on the test's teardown. */
export async function launchChromium(t: Teardownable): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Chromium refuses to run its sandbox as root (CI and these machines run tests as root).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  return browser;
}

export interface OpenedPage {
  readonly page: Page;
  /** Uncaught exceptions in the page, requests that failed or were answered 4xx or 5xx (a module that did not load, too). */
  readonly pageErrors: string[];
  /** console.error messages. */
  readonly consoleErrors: string[];
}

/** A new page at `url`, recording its errors from before the first script runs. */
export async function openPage(browser: Browser, url: string): Promise<OpenedPage> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) pageErrors.push(`${response.url()} answered ${response.status()}`);
  });
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? 'unknown';
    // A page cancels its own requests (an AbortController when a view unmounts mid-refresh);
    // Chromium reports those as net::ERR_ABORTED, which is the page working, not failing.
    if (reason === 'net::ERR_ABORTED') return;
    pageErrors.push(`request failed: ${request.url()} (${reason})`);
  });
  const response = await page.goto(url);
  if (response === null || response.status() !== 200) throw new Error(`${url} answered ${response?.status() ?? 'nothing'}`);
  return { page, pageErrors, consoleErrors };
}
