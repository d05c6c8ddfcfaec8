/**
 * The waiting page as a person gets it from the real activator, in a real
 * headless Chromium: it loads at once from the sleeping host, follows the
 * wake's progress from /_nozzle/status, and ends on the app's own page once
 * the test (standing in for kubelet) makes the backends Ready.
 */
import test from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { mergePatch } from '../../lib/kube/patch.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/browser.js';
import { adminKube } from '../support/env.js';
import { eventually, makeReady, startSleepingStage, type AppSpec } from '../support/activator.js';

const kube = adminKube();
let launched: Browser | undefined;

test.after.always(async () => {
  await launched?.close();
});

test('the page loads from the activator, shows progress, and ends on the app', async (t) => {
  const apps: AppSpec[] = [
    { name: 'web', replicas: 2 },
    { name: 'api', replicas: 1 },
  ];
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'page',
    apps,
    app: 'shop',
  });

  // The sleeping host resolves to the activator, as DNS would send it to the ingress controller.
  launched = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.apps.test 127.0.0.1'],
  });
  const context = await launched.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  const url = `http://${host}:${activator.port}/products?page=2`;
  const started = Date.now();
  const first = await page.goto(url);
  t.log(`the waiting page loaded in ${Date.now() - started} ms`);
  t.is(first?.status(), 503);
  t.is(await page.title(), `Waking up ${host}`);
  t.is(await page.locator('main h1').textContent(), host);

  // Progress, from the status the page polls: web 1 of 2.
  await kube.apps.patchNamespacedDeploymentStatus(
    { namespace, name: 'web', body: { status: { replicas: 2, readyReplicas: 1 } } },
    mergePatch,
  );
  const web = page.getByRole('progressbar', { name: 'web' });
  await eventually(async () => (await web.getAttribute('value')) === '1', 'the page to show web 1/2', 15_000);
  t.is(await web.getAttribute('aria-valuetext'), '1 of 2 ready');
  t.is(backend.requests.length, 0, 'nothing reached the app yet');

  // Ready: the page reloads into the app, same URL.
  for (const app of apps) await makeReady(kube, namespace, app);
  await eventually(
    async () => (await page.title().catch(() => '')) === 'shop app',
    'the page to reload into the app',
    20_000,
  );
  t.is(await page.locator('h1').textContent(), 'The shop app');
  t.is(page.url(), url);
  const atApp = backend.requests.find((r) => r.path === '/products?page=2');
  t.truthy(atApp, 'the app got the page request');
  t.regex(String(atApp?.headers['user-agent']), /Chrome/);
});
