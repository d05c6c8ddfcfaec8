/**
 * The waiting page in a real headless Chromium, served by a stand-in for the
 * activator (./fixture.ts): what a person sees while a namespace wakes, how it
 * follows the status, and that it lands on the app.
 */
import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import type { WakeStatus } from '../../rescaler-web/status.js';
import { closeBrowser, openPage } from '../support/browser.js';
import { eventually } from '../support/eventually.js';
import { APP_HEADING, APP_TITLE, shopStatus, startFixture, type Fixture } from './fixture.js';

test.after.always(closeBrowser);

const waking: WakeStatus = {
  ...shopStatus,
  elapsedMs: 2_000,
  workloads: [
    { kind: 'Deployment', name: 'web', ready: 0, desired: 3 },
    { kind: 'Deployment', name: 'api', ready: 0, desired: 1 },
  ],
};

async function fixture(t: ExecutionContext, status: WakeStatus): Promise<Fixture> {
  const f = await startFixture(status);
  t.teardown(() => f.close());
  return f;
}

const live = (page: Page) => page.locator('[aria-live="polite"]');

function sameOrigin(t: ExecutionContext, requests: readonly string[], origin: string): void {
  const elsewhere = requests.filter((url) => !url.startsWith(`${origin}/`));
  t.deepEqual(elsewhere, [], 'the page loaded nothing from anywhere else');
}

test('says which app is waking and updates the progress in place, in the live region', async (t) => {
  const f = await fixture(t, waking);
  const { page, requests, problems } = await openPage(t);
  await page.goto(`${f.origin}/products?page=2`);

  t.is(await page.locator('main h1').textContent(), 'shop.preview.example.com');
  t.regex(
    (await page.locator('main').innerText()).replace(/\s+/g, ' '),
    /The shop-preview namespace was asleep/,
  );
  t.is(await page.title(), 'Waking up shop.preview.example.com');
  t.is(await page.getByRole('banner').count(), 1);
  t.is(await page.getByRole('main').count(), 1);
  t.is(await page.getByRole('contentinfo').count(), 1);
  t.regex((await live(page).textContent()) ?? '', /0\/3/);
  const web = page.getByRole('progressbar', { name: 'web' });
  t.is(await web.getAttribute('value'), '0');
  t.is(await web.getAttribute('aria-valuetext'), '0 of 3 ready');
  t.is(
    await page.locator('meta[http-equiv="refresh"]').count(),
    0,
    'with JavaScript on, the refresh is inert',
  );

  f.status = {
    ...waking,
    elapsedMs: 5_000,
    workloads: [
      { kind: 'Deployment', name: 'web', ready: 2, desired: 3 },
      { kind: 'Deployment', name: 'api', ready: 1, desired: 1 },
    ],
  };
  await live(page).getByText('2/3').waitFor();
  t.is(await web.getAttribute('value'), '2');
  t.is(await web.getAttribute('aria-valuetext'), '2 of 3 ready');
  t.is(await page.locator('#nz-total .nz-frac').textContent(), '3/4');
  t.is(await page.getByRole('progressbar', { name: 'Overall' }).getAttribute('value'), '3');
  t.is(await page.locator('li[data-key="Deployment/api"]').getAttribute('data-done'), 'true');
  t.regex((await page.locator('#nz-elapsed').textContent()) ?? '', /^\d+ s$/);
  t.is(f.counts.page, 1, 'updated in place, never reloaded');
  t.true(f.counts.status >= 1);
  sameOrigin(t, requests, f.origin);
  t.deepEqual(problems, [], 'no console errors, CSP violations or script errors');
});

test('a workload that appears in the status gets its own row', async (t) => {
  const f = await fixture(t, waking);
  const { page } = await openPage(t);
  await page.goto(f.origin);
  f.status = {
    ...waking,
    workloads: [...waking.workloads, { kind: 'StatefulSet', name: 'redis', ready: 1, desired: 2 }],
  };
  const redis = page.getByRole('progressbar', { name: 'redis' });
  await redis.waitFor();
  t.is(await redis.getAttribute('max'), '2');
  t.is(await page.locator('li[data-key="StatefulSet/redis"] .nz-frac').textContent(), '1/2');
  t.is(await page.locator('#nz-total .nz-frac').textContent(), '1/6');
});

test('ends on the app’s page, same URL, once the status turns ready', async (t) => {
  const f = await fixture(t, waking);
  const { page, requests } = await openPage(t);
  await page.goto(`${f.origin}/products?page=2`);
  t.is(await page.title(), 'Waking up shop.preview.example.com');

  f.status = {
    ...waking,
    phase: 'ready',
    workloads: waking.workloads.map((w) => ({ ...w, ready: w.desired })),
  };
  await page.getByRole('heading', { name: APP_HEADING }).waitFor();
  t.is(await page.title(), APP_TITLE);
  t.is(page.url(), `${f.origin}/products?page=2`);
  t.is(f.counts.app, 1);
  t.is(f.counts.page, 1);
  sameOrigin(t, requests, f.origin);
});

test('ends on the app when the app itself answers the status poll (the takeover is already gone)', async (t) => {
  const f = await fixture(t, waking);
  const { page } = await openPage(t);
  await page.goto(`${f.origin}/`);
  t.is(await page.title(), 'Waking up shop.preview.example.com');
  f.appServes = true; // the next poll reaches the app: a 404 without the activator's header
  await page.getByRole('heading', { name: APP_HEADING }).waitFor();
  t.is(await page.title(), APP_TITLE);
  t.is(page.url(), `${f.origin}/`);
});

test('a failed wake says what went wrong and what to do', async (t) => {
  const f = await fixture(t, { ...shopStatus, elapsedMs: 100_000 });
  const { page, problems } = await openPage(t);
  await page.goto(f.origin);
  const failure = page.getByRole('alert');
  t.false(await failure.isVisible(), 'no failure while waking');

  const message = 'postgres (StatefulSet) had 0 of 1 replicas ready after 2 min.';
  f.status = {
    ...shopStatus,
    phase: 'failed',
    elapsedMs: 120_000,
    message,
    workloads: [
      { kind: 'Deployment', name: 'web', ready: 3, desired: 3 },
      { kind: 'Deployment', name: 'api', ready: 1, desired: 1 },
      { kind: 'StatefulSet', name: 'postgres', ready: 0, desired: 1 },
    ],
  };
  await failure.waitFor({ state: 'visible' });
  t.is(await page.locator('#nz-message').textContent(), message);
  t.true(await page.getByText('Didn’t start').isVisible());
  t.false(await page.getByText('Waking up').isVisible());
  t.true(await page.getByRole('link', { name: 'Try again' }).isVisible());
  t.true(await page.locator('li[data-key="StatefulSet/postgres"] .nz-notready').isVisible());
  t.false(await page.locator('li[data-key="Deployment/web"] .nz-notready').isVisible());
  t.is(await page.title(), 'shop.preview.example.com didn’t start');
  t.deepEqual(problems, []);
});

test('without JavaScript: the page refreshes itself, shows new progress, then the app', async (t) => {
  const f = await fixture(t, waking);
  const { page } = await openPage(t, { javaScriptEnabled: false });
  await page.goto(`${f.origin}/cart`);
  t.is(await page.locator('head meta[http-equiv="refresh"]').getAttribute('content'), '5');
  t.regex((await live(page).textContent()) ?? '', /0\/3/);
  // (Playwright's text locators skip <noscript>, so this one goes by structure.)
  const note = page.locator('footer noscript p');
  t.true(await note.isVisible());
  t.is(await note.textContent(), 'This page refreshes itself every few seconds.');

  f.status = {
    ...waking,
    workloads: [{ kind: 'Deployment', name: 'web', ready: 2, desired: 3 }, waking.workloads[1]!],
  };
  await live(page).getByText('2/3').waitFor({ timeout: 15_000 });
  t.true(f.counts.page >= 2, 'the server rendered it again');
  t.is(f.counts.status, 0, 'nothing polled the status');

  f.status = { ...waking, phase: 'ready' };
  await page.getByRole('heading', { name: APP_HEADING }).waitFor({ timeout: 15_000 });
  t.is(page.url(), `${f.origin}/cart`);
});

test('without JavaScript: a failed page shows the failure and does not refresh', async (t) => {
  const f = await fixture(t, { ...shopStatus, phase: 'failed', message: 'postgres was not ready.' });
  const { page } = await openPage(t, { javaScriptEnabled: false });
  await page.goto(f.origin);
  t.true(await page.getByRole('alert').isVisible());
  t.is(await page.locator('#nz-message').textContent(), 'postgres was not ready.');
  t.is(await page.locator('meta[http-equiv="refresh"]').count(), 0);
});

test('when the status cannot be fetched it backs off, says so, and recovers', async (t) => {
  const f = await fixture(t, waking);
  const { page } = await openPage(t);
  f.statusFails = true;
  await page.goto(f.origin);
  const offline = page.getByText('Can’t reach the server right now');
  await offline.waitFor({ state: 'visible', timeout: 20_000 });
  // Four failed polls: the delay doubles (2 s, 4 s, 8 s, ±20%), so the third
  // gap is longer than the first even when a loaded machine stretches a timer
  // by seconds (neighbouring gaps could then come out equal).
  await eventually('four failed polls', () => f.statusTimes.length >= 4, { timeout: 40_000 });
  const gaps = f.statusTimes.slice(1).map((at, i) => at - (f.statusTimes[i] ?? at));
  t.true(gaps[2]! > gaps[0]!, `the delay grows: ${gaps.join(', ')} ms`);

  f.statusFails = false;
  f.status = {
    ...waking,
    workloads: [{ kind: 'Deployment', name: 'web', ready: 2, desired: 3 }, waking.workloads[1]!],
  };
  await live(page).getByText('2/3').waitFor({ timeout: 30_000 });
  t.false(await offline.isVisible());
  t.is(f.counts.page, 1);
});

test('names from outside are shown as text, on the server and in the browser', async (t) => {
  const hostile: WakeStatus = {
    ...waking,
    host: '<img src=x onerror="window.pwned=1">.example.com',
    namespace: '"><script>window.pwned=2</script>',
    workloads: [{ kind: 'Deployment', name: '<b onmouseover=alert(1)>web</b>', ready: 0, desired: 1 }],
  };
  const f = await fixture(t, hostile);
  const { page } = await openPage(t);
  await page.goto(f.origin);
  t.is(await page.locator('main h1').textContent(), hostile.host);
  t.is(await page.locator('.nz-name').first().textContent(), '<b onmouseover=alert(1)>web</b>');

  f.status = {
    ...hostile,
    phase: 'failed',
    message: '<img src=y onerror="window.pwned=3">',
    workloads: [{ kind: 'StatefulSet', name: '<svg onload="window.pwned=4">', ready: 0, desired: 1 }],
  };
  await page.getByRole('alert').waitFor({ state: 'visible' });
  t.is(await page.locator('#nz-message').textContent(), '<img src=y onerror="window.pwned=3">');
  t.is(await page.locator('.nz-name').first().textContent(), '<svg onload="window.pwned=4">');
  t.is(await page.locator('main img, main svg, main b, main script').count(), 0);
  t.is(await page.evaluate<unknown>('window.pwned'), undefined);
});

test('on a phone: fits the width, even with a long host name', async (t) => {
  const f = await fixture(t, {
    ...shopStatus,
    host: 'a-very-long-feature-branch-name-for-the-checkout-redesign.shop.preview.example.com',
  });
  const { page } = await openPage(t, {
    viewport: { width: 360, height: 740 },
    isMobile: true,
    hasTouch: true,
  });
  await page.goto(f.origin);
  // (Strings, not functions: the Node build has no DOM types.)
  const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
  const innerWidth = await page.evaluate<number>('window.innerWidth');
  t.true(scrollWidth <= innerWidth, `no sideways scrolling (${scrollWidth} > ${innerWidth})`);
  t.true(await page.getByRole('progressbar', { name: 'postgres' }).isVisible());
});

test('respects reduced motion', async (t) => {
  const f = await fixture(t, waking);
  const animation = async (reducedMotion: 'reduce' | 'no-preference') => {
    const { page } = await openPage(t, { reducedMotion });
    await page.goto(f.origin);
    return page.evaluate<string>("getComputedStyle(document.querySelector('.nz-pulse')).animationName");
  };
  t.is(await animation('no-preference'), 'nz-pulse');
  t.is(await animation('reduce'), 'none');
});
