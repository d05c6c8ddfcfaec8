/** The page server over real loopback sockets: waiting page, status of the port's namespace, Connection: close. */
import test, { type ExecutionContext } from 'ava';
import { PageServer, hostName } from '../../activator/page-server.js';
import { FakeWakes } from '../support/activator.js';
import { readToEnd, tcpClient, tcpServer } from '../support/tcp.js';

async function ask(t: ExecutionContext, pages: PageServer, request: string): Promise<string> {
  const server = await tcpServer(t);
  const client = await tcpClient(t, server.port);
  const socket = await server.accepted();
  socket.pause();
  void pages.serve(socket, Buffer.from(request), { namespace: 'shop', service: 'web', servicePort: 'http' });
  return (await readToEnd(client)).toString();
}

test('a browser gets the waiting page and starts the wake; every answer closes the connection', async (t) => {
  const wakes = new FakeWakes();
  const pages = new PageServer({ index: { hasOwnReady: () => false }, wakes, readinessTimeoutMs: 1000 });
  const page = await ask(t, pages, 'GET /cart HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n');
  t.regex(page, /^HTTP\/1\.1 503/);
  t.regex(page, /Connection: close/i);
  t.regex(page, /retry-after/i);
  t.deepEqual(wakes.asked, ['shop']);
});

test('/_nozzle/status is the namespace of the port; other /_nozzle/ paths are 404', async (t) => {
  const wakes = new FakeWakes();
  let ready = false;
  const pages = new PageServer({ index: { hasOwnReady: () => ready }, wakes, readinessTimeoutMs: 1000 });
  const status = await ask(t, pages, 'GET /_nozzle/status HTTP/1.1\r\nHost: shop.example\r\n\r\n');
  t.regex(status, /Connection: close/i);
  t.like(JSON.parse(status.slice(status.indexOf('\r\n\r\n') + 4)), {
    namespace: 'shop',
    host: 'shop.example',
    phase: 'waking',
  });
  ready = true;
  const now = await ask(t, pages, 'GET /_nozzle/status HTTP/1.1\r\nHost: shop.example\r\n\r\n');
  t.like(JSON.parse(now.slice(now.indexOf('\r\n\r\n') + 4)), { phase: 'ready' });
  t.regex(await ask(t, pages, 'GET /_nozzle/other HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 404/);
});

test('the page names the host without its port', (t) => {
  t.is(hostName('Web.E2E.test:45617'), 'web.e2e.test');
  t.is(hostName('shop.example.com'), 'shop.example.com');
  t.is(hostName('[fd00::1]:8080'), '[fd00::1]');
  t.is(hostName('[fd00::1]'), '[fd00::1]');
  t.is(hostName(undefined), '');
});
