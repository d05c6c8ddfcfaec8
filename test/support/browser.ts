/**
 * A real headless Chromium for browser tests: Debian's `chromium` package
 * (scripts/install-system-packages.sh) driven by playwright-core. One browser per
 * test process, launched on first use; each test gets its own context (its
 * own cookies, cache and settings) that closes with the test.
 *
 *   test.after.always(closeBrowser);
 *   const { page, requests, problems } = await openPage(t);
 *
 * Missing Chromium fails the test with the fix, never skips it.
 */
import { existsSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless, no sandbox (containers run as root) and nothing that reaches for
 * the network by itself: the machines tests run on have no way out, and a
 * Chromium that tries stalls or logs noise.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let launched: Promise<Browser> | undefined;

/** The process's browser, launched once. */
export function browser(): Promise<Browser> {
  if (!launched) {
    if (!existsSync(CHROMIUM_PATH)) {
      return Promise.reject(
        new Error(
          `${CHROMIUM_PATH} does not exist: run scripts/install-system-packages.sh (or set CHROMIUM_PATH)`,
        ),
      );
    }
    launched = chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], timeout: 60_000 });
  }
  return launched;
}

export async function closeBrowser(): Promise<void> {
  const current = launched;
  launched = undefined;
  if (current) await (await current).close();
}

export interface OpenedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every URL the page requested, in order (documents, fetches, anything). */
  readonly requests: string[];
  /**
   * Console errors and warnings (CSP violations show up here) and uncaught page
   * errors. Not Chromium's "Failed to load resource: ... status of 503" lines:
   * an HTTP error status is a response, which tests check as such (the waiting
   * page itself is served with 503).
   */
  readonly problems: string[];
}

/** A fresh context and page for `t`, closed when `t` ends; records requests and problems. */
export async function openPage(
  t: ExecutionContext,
  options: BrowserContextOptions = {},
): Promise<OpenedPage> {
  const context = await (await browser()).newContext(options);
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    const text = message.text();
    if (/^Failed to load resource: the server responded with a status of \d+/.test(text)) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { context, page, requests, problems };
}
