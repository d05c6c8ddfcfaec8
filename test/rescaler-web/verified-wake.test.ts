/**
 * The verified wake in a real headless Chromium against the activator's real
 * page server (over a TCP listener, as the connection pipeline hands it
 * browser requests): the first page starts nothing, its script confirms with
 * the signed token, the wake starts once, and the page follows it, all under
 * the page's CSP. A fetch without the token starts nothing.
 */
import test, { type ExecutionContext } from 'ava';
import { PageServer } from '../../activator/page-server.js';
import { FakeWakes } from '../support/activator.js';
import { closeBrowser, openPage } from '../support/browser.js';
import { eventually } from '../support/eventually.js';
import { tcpServer } from '../support/tcp.js';

test.after.always(closeBrowser);

const SECRET = 'verified-wake-test-secret-0123456789';

async function activator(t: ExecutionContext) {
  const wakes = new FakeWakes();
  const pages = new PageServer({
    index: { hasOwnReady: () => false },
    wakes,
    readinessTimeoutMs: 120_000,
    verifiedWakeSecret: SECRET,
  });
  const requests: string[] = [];
  const server = await tcpServer(t, (socket) => {
    socket.pause();
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      requests.push(chunk.toString('latin1').split('\r\n')[0]!);
      void pages.serve(socket, chunk, { namespace: 'shop-preview', service: 'web', servicePort: 'http' });
    });
    socket.resume();
  });
  t.teardown(() => pages.close());
  return { wakes, requests, origin: `http://127.0.0.1:${server.port}` };
}

test('the page confirms the wake with its token: the wake starts once, after the page, and the page follows it', async (t) => {
  const a = await activator(t);
  const { page, problems } = await openPage(t);
  const response = await page.goto(`${a.origin}/products`);
  t.is(response?.status(), 503);
  t.truthy(await page.locator('main[data-wake-token]').count());
  await eventually('the wake confirmed', () => a.wakes.asked.length === 1, { timeout: 10_000 });
  t.deepEqual(a.wakes.asked, ['shop-preview']);
  await page.locator('main[data-phase="waking"]').waitFor({ timeout: 10_000 });
  t.deepEqual(
    a.requests.filter((r) => !r.includes('/_nozzle/status') && !r.includes('favicon')),
    ['GET /products HTTP/1.1', 'POST /_nozzle/wake HTTP/1.1'],
  );
  t.deepEqual(a.wakes.asked, ['shop-preview'], 'polls start nothing more');
  t.deepEqual(problems, [], 'no console errors, CSP violations or script errors');
});

test('a client that does not run the page’s script, or fetches without the token, wakes nothing', async (t) => {
  const a = await activator(t);
  const { page } = await openPage(t, { javaScriptEnabled: false });
  await page.goto(`${a.origin}/`);
  const plain = await fetch(`${a.origin}/_nozzle/wake`, { method: 'POST' });
  t.is(plain.status, 403);
  await new Promise((r) => setTimeout(r, 1_500));
  t.deepEqual(a.wakes.asked, []);
});
