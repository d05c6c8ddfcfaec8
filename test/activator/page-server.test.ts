/** The page server over real loopback sockets: waiting page, status of the port's namespace, Connection: close. */
import test, { type ExecutionContext } from 'ava';
import { PageServer, WAKE_TOKEN_HEADER, hostName } from '../../activator/page-server.js';
import { WakeRefused } from '../../activator/wake-limits.js';
import { issueWakeToken } from '../../activator/wake-token.js';
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

test('a failed wake: the status names this namespace’s own workloads on a timeout, never an API error', async (t) => {
  const wakes = new FakeWakes();
  const pages = new PageServer({ index: { hasOwnReady: () => false }, wakes, readinessTimeoutMs: 1000 });
  const statusOf = async () => {
    const answer = await ask(t, pages, 'GET /_nozzle/status HTTP/1.1\r\nHost: shop.example\r\n\r\n');
    return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { phase: string; message: string };
  };
  wakes.fail('shop', 'shop was not ready after 120s: Deployment web has 0/2 ready', 'timeout');
  t.like(await statusOf(), {
    phase: 'failed',
    message: 'shop was not ready after 120s: Deployment web has 0/2 ready',
  });
  wakes.fail(
    'shop',
    'deployments.apps "web" is forbidden: User "system:serviceaccount:nozzle-system:nozzle-activator"',
  );
  const failed = await statusOf();
  t.is(failed.phase, 'failed');
  t.notRegex(failed.message, /forbidden|serviceaccount|nozzle-system/);
});

test('the page names the host without its port', (t) => {
  t.is(hostName('Web.E2E.test:45617'), 'web.e2e.test');
  t.is(hostName('shop.example.com'), 'shop.example.com');
  t.is(hostName('[fd00::1]:8080'), '[fd00::1]');
  t.is(hostName('[fd00::1]'), '[fd00::1]');
  t.is(hostName(undefined), '');
});

const SECRET = '0123456789abcdef0123456789abcdef';
const bodyOf = (answer: string): unknown => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

test('verified wake: the page carries a token and starts nothing; only POST /_nozzle/wake with a valid token wakes', async (t) => {
  const wakes = new FakeWakes();
  const pages = new PageServer({
    index: { hasOwnReady: () => false },
    wakes,
    readinessTimeoutMs: 1000,
    verifiedWakeSecret: SECRET,
  });
  const page = await ask(t, pages, 'GET /cart HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n');
  t.regex(page, /^HTTP\/1\.1 503/);
  const token = /data-wake-token="([^"]+)"/.exec(page)?.[1];
  t.truthy(token);
  t.deepEqual(wakes.asked, [], 'the page started nothing');
  const poll = await ask(t, pages, 'GET /_nozzle/status HTTP/1.1\r\nHost: shop.example\r\n\r\n');
  t.like(bodyOf(poll), { phase: 'sleeping' });
  t.deepEqual(wakes.asked, [], 'nor did a status poll');
  const wake = (header: string, method = 'POST') =>
    ask(
      t,
      pages,
      `${method} /_nozzle/wake HTTP/1.1\r\nHost: shop.example\r\n${header}Content-Length: 0\r\n\r\n`,
    );
  t.regex(await wake(''), /^HTTP\/1\.1 403/);
  t.regex(await wake(`${WAKE_TOKEN_HEADER}: ${issueWakeToken(SECRET, 'other')}\r\n`), /^HTTP\/1\.1 403/);
  t.regex(
    await wake(`${WAKE_TOKEN_HEADER}: ${issueWakeToken('another-secret-another-secret', 'shop')}\r\n`),
    /^HTTP\/1\.1 403/,
  );
  t.regex(await wake(`${WAKE_TOKEN_HEADER}: ${token}\r\n`, 'GET'), /^HTTP\/1\.1 405/);
  t.deepEqual(wakes.asked, []);
  const accepted = await wake(`${WAKE_TOKEN_HEADER}: ${token}\r\n`);
  t.regex(accepted, /^HTTP\/1\.1 202/);
  t.like(bodyOf(accepted), { phase: 'waking' });
  t.deepEqual(wakes.asked, ['shop']);
  const joined = await ask(t, pages, 'GET / HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n');
  t.notRegex(joined, /data-wake-token="/, 'a wake in progress is joined: no token needed');
});

test('without a verified wake, /_nozzle/wake is not an activator path', async (t) => {
  const wakes = new FakeWakes();
  const pages = new PageServer({ index: { hasOwnReady: () => false }, wakes, readinessTimeoutMs: 1000 });
  t.regex(
    await ask(t, pages, 'POST /_nozzle/wake HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'),
    /^HTTP\/1\.1 404/,
  );
  t.deepEqual(wakes.asked, []);
});

test('a wake refused by a rate limit: the page (503) starts nothing and says when to retry; a poll still answers', async (t) => {
  const wakes = new FakeWakes();
  wakes.refusing = new WakeRefused('wake-rate', 'shop', 9_200);
  const pages = new PageServer({ index: { hasOwnReady: () => false }, wakes, readinessTimeoutMs: 1000 });
  const page = await ask(t, pages, 'GET / HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n');
  t.regex(page, /^HTTP\/1\.1 503/);
  t.regex(page, /retry-after: 10/i);
  const poll = await ask(t, pages, 'GET /_nozzle/status HTTP/1.1\r\nHost: shop.example\r\n\r\n');
  t.like(bodyOf(poll), { phase: 'sleeping' });
  t.deepEqual(wakes.asked, []);
});

test("what node:http refuses, CONNECT, dot segments and a POST to the status get the activator's own clear answers", async (t) => {
  const wakes = new FakeWakes();
  const pages = new PageServer({ index: { hasOwnReady: () => false }, wakes, readinessTimeoutMs: 1000 });
  const cases: [string, RegExp, string][] = [
    // request-head.ts lets a duplicate Content-Length through (it only decides); node:http refuses it.
    [
      'POST /_nozzle/status HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      /^HTTP\/1\.1 400/,
      'bad_request',
    ],
    ['CONNECT /_nozzle/status HTTP/1.1\r\nHost: a\r\n\r\n', /^HTTP\/1\.1 405/, 'method_not_allowed'],
    [
      'POST /_nozzle/status HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
      /^HTTP\/1\.1 405/,
      'method_not_allowed',
    ],
    // Under /_nozzle/ as the decision read it: not normalized into a navigation that starts a wake.
    ['PUT /_nozzle/ HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 404/, 'not_found'], // no Host: the port names the namespace
    [
      'GET /_nozzle/status HTTP/1.1\r\nHost: a\r\nExpect: upgrade\r\n\r\n',
      /^HTTP\/1\.1 417/,
      'expectation_failed',
    ],
    ['GET /_nozzle/../cart HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n', /^HTTP\/1\.1 404/, 'not_found'],
  ];
  for (const [request, status, error] of cases) {
    const answer = await ask(t, pages, request);
    t.regex(answer, status, request);
    t.regex(answer, /x-nozzle-activator: 1/i, `${request}: the activator's own answer`);
    t.like(bodyOf(answer), { error }, request);
  }
  t.deepEqual(wakes.asked, [], 'none of them started a wake');
});
