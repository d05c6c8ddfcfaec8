/**
 * The connection pipeline's decisions over real loopback sockets, with a fake
 * endpoint index (the test says when a target is ready), a fake waker and a
 * fake page server.
 */
import test, { type ExecutionContext } from 'ava';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { ConnectionPipeline, type ConnectionSettings } from '../../activator/connection.js';
import type { ReadyEndpoint } from '../../activator/endpoint-index.js';
import { HELD_CONNECTION_BYTES, HoldBudget } from '../../activator/hold-budget.js';
import { HoldSlots } from '../../activator/holds.js';
import { createActivatorMetrics } from '../../activator/metrics.js';
import { WakeRefused } from '../../activator/wake-limits.js';
import type { PortTarget } from '../../lib/takeover/port-assignment.js';
import { eventually } from '../support/eventually.js';
import { FakeWakes, capturingLog, metric, testSettings } from '../support/activator.js';
import { closed, readBytes, readToEnd, tcpClient, tcpServer } from '../support/tcp.js';

const TARGET: PortTarget = { namespace: 'shop', service: 'web', servicePort: 'http' };

/** A fake index: nothing ready until `makeReady`. */
class FakeIndex {
  endpoints: ReadyEndpoint[] = [];
  private waiters: (() => void)[] = [];
  ready = (): ReadyEndpoint[] => this.endpoints;
  whenReady = (_t: PortTarget, signal: AbortSignal): Promise<ReadyEndpoint[]> =>
    new Promise((resolve, reject) => {
      if (this.endpoints.length > 0) return resolve(this.endpoints);
      signal.addEventListener('abort', () => reject(signal.reason as Error));
      this.waiters.push(() => resolve(this.endpoints));
    });
  hasOwnReady = (): boolean => this.endpoints.length > 0;
  takenOver = () => [
    { namespace: 'shop', service: 'web' },
    { namespace: 'shop', service: 'db' },
  ];
  makeReady(port: number): void {
    this.endpoints = [{ ip: '127.0.0.1', port, family: 4, address: `127.0.0.1:${port}` }];
    for (const w of this.waiters.splice(0)) w();
  }
}

async function pipeline(
  t: ExecutionContext,
  settings: Partial<ConnectionSettings> = {},
  holdLimit = 10,
  budgetBytes = 64 * 1024 * 1024,
) {
  const registry = new Registry();
  const index = new FakeIndex();
  const wakes = new FakeWakes();
  const holds = new HoldSlots(holdLimit);
  const metrics = createActivatorMetrics(registry);
  const budget = new HoldBudget(budgetBytes, metrics.holdBudgetUsed);
  const served: string[] = [];
  const pages = {
    serve: (socket: Socket, bytes: Buffer) => {
      served.push(bytes.toString('latin1'));
      socket.destroy();
      return Promise.resolve();
    },
  };
  const { log, lines: logs } = capturingLog();
  const p = new ConnectionPipeline({
    index,
    wakes,
    holds,
    budget,
    pages,
    metrics,
    log,
    settings: testSettings(settings),
  });
  const listener = await tcpServer(t, (socket) => void p.handle(socket, TARGET));
  const upstream = await tcpServer(t);
  const connect = () => tcpClient(t, listener.port);
  return { registry, index, wakes, holds, budget, served, connect, upstream, logs, port: listener.port };
}

const count = (registry: Registry, labels: Record<string, string>) =>
  metric(registry, 'nozzle_activator_connections_total', labels);

test('ready on accept: spliced at once, no sniff, no wake', async (t) => {
  const s = await pipeline(t);
  s.index.makeReady(s.upstream.port);
  const client = await s.connect();
  const pod = await s.upstream.accepted();
  pod.write('greeting');
  t.is((await readBytes(client, 8)).toString(), 'greeting');
  t.deepEqual(s.wakes.asked, []);
  t.is(await count(s.registry, { kind: 'ready', outcome: 'spliced' }), 1);
});

test('closed without a byte: no wake', async (t) => {
  const s = await pipeline(t);
  const client = await s.connect();
  client.end();
  await closed(client);
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(s.wakes.asked, []);
  t.is(await count(s.registry, { outcome: 'closed-silent' }), 1);
});

test('/_nozzle/ and browsers go to the page server with the bytes read; health checkers get 200', async (t) => {
  const s = await pipeline(t);
  const status = await s.connect();
  status.write('GET /_nozzle/status HTTP/1.1\r\nHost: a\r\n\r\n');
  await readToEnd(status);
  const browser = await s.connect();
  browser.write('GET / HTTP/1.1\r\nAccept: text/html\r\n\r\n');
  await readToEnd(browser);
  t.deepEqual(s.served, [
    'GET /_nozzle/status HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nAccept: text/html\r\n\r\n',
  ]);
  const lb = await s.connect();
  lb.write('GET / HTTP/1.1\r\nUser-Agent: GoogleHC/1.0\r\n\r\n');
  t.regex(
    (await readToEnd(lb)).toString(),
    /^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close[\s\S]*\r\n\r\nok\n$/,
  );
  t.deepEqual(s.wakes.asked, [], 'the page server starts wakes, not the pipeline');
});

test('a malformed head gets 400 without a wake', async (t) => {
  const s = await pipeline(t);
  const client = await s.connect();
  client.write('GET / HTTP/1.1\r\nBad Header\r\n\r\n');
  t.regex((await readToEnd(client)).toString(), /^HTTP\/1\.1 400 Bad Request[\s\S]*invalid header line/);
  t.deepEqual(s.wakes.asked, []);
});

test('held: the wake starts, bytes sent while held are kept, the slot is freed on the splice', async (t) => {
  const s = await pipeline(t);
  const client = await s.connect();
  client.write('POST /x HTTP/1.1\r\nContent-Length: 6\r\n\r\n');
  await new Promise((r) => setTimeout(r, 50));
  client.write('body!!');
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(s.wakes.asked, ['shop']);
  t.is(s.holds.held('shop'), 1);
  s.index.makeReady(s.upstream.port);
  const pod = await s.upstream.accepted();
  const got = await readBytes(pod, 44);
  t.is(got.toString(), 'POST /x HTTP/1.1\r\nContent-Length: 6\r\n\r\nbody!!');
  t.is(s.holds.held('shop'), 0);
  t.is(await metric(s.registry, 'nozzle_activator_held_connections'), 0);
});

test('a held client that leaves frees its slot at once', async (t) => {
  const s = await pipeline(t);
  const client = await s.connect();
  client.write('GET /x HTTP/1.1\r\n\r\n');
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.holds.held('shop'), 1);
  client.end();
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.holds.held('shop'), 0);
  t.is(await count(s.registry, { outcome: 'client-gone' }), 1);
});

test('over the hold limit: 503 with Retry-After for HTTP, a close for the rest', async (t) => {
  const s = await pipeline(t, {}, 1);
  const first = await s.connect();
  first.write('GET /1 HTTP/1.1\r\n\r\n');
  await new Promise((r) => setTimeout(r, 50));
  const second = await s.connect();
  second.write('GET /2 HTTP/1.1\r\n\r\n');
  const answer = (await readToEnd(second)).toString();
  t.regex(answer, /^HTTP\/1\.1 503 Service Unavailable/);
  t.regex(answer, /retry-after: 7/);
  const other = await s.connect();
  other.write('\x00raw');
  t.is((await readToEnd(other)).length, 0, 'closed without an answer');
  t.is(await count(s.registry, { outcome: 'hold-limit' }), 2);
});

test('past the readiness timeout: 504 naming nothing internal (the log says what was not ready), a close for the rest', async (t) => {
  const s = await pipeline(t, { readinessTimeoutMs: 100 });
  const http = await s.connect();
  http.write('GET / HTTP/1.1\r\n\r\n');
  const raw = await s.connect();
  raw.write('\x00raw');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 504 Gateway Timeout/);
  t.regex(answer, /"error":"readiness_timeout"/);
  t.notRegex(answer, /shop|web|db/, 'no namespace or Service named to an anonymous client');
  t.like(
    s.logs.find((l) => l.msg === 'a held request timed out'),
    { namespace: 'shop', notReady: ['web', 'db'] },
  );
  t.is((await readToEnd(raw)).length, 0, 'closed without an answer');
  t.is(await count(s.registry, { outcome: 'timeout' }), 2);
});

test('a failed wake answers 502 before the timeout, its reason kept from the anonymous client', async (t) => {
  const s = await pipeline(t);
  s.wakes.fail('shop', 'restoring Deployment web: forbidden');
  const http = await s.connect();
  http.write('GET / HTTP/1.1\r\n\r\n');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 502/);
  t.regex(answer, /"error":"wake_failed"/);
  t.notRegex(answer, /shop|web|forbidden/);
});

// ------------------------------------------------------------------ bounds

test('past the hold budget: 503 with Retry-After for HTTP, a close for the rest; held bytes are charged', async (t) => {
  const s = await pipeline(t, {}, 100, 2 * HELD_CONNECTION_BYTES + 20_000);
  const first = await s.connect();
  first.write('POST /1 HTTP/1.1\r\nContent-Length: 10000\r\n\r\n');
  await eventually('held', () => s.holds.held('shop') === 1);
  first.write('x'.repeat(10_000));
  await eventually('the body charged', () => s.budget.used >= HELD_CONNECTION_BYTES + 10_000);
  const second = await s.connect();
  second.write('GET /2 HTTP/1.1\r\n\r\n');
  await eventually('held', () => s.holds.held('shop') === 2);
  const third = await s.connect();
  third.write('GET /3 HTTP/1.1\r\n\r\n');
  const answer = (await readToEnd(third)).toString();
  t.regex(answer, /^HTTP\/1\.1 503 Service Unavailable/);
  t.regex(answer, /retry-after: 7/);
  t.regex(answer, /"error":"hold_budget"/);
  t.notRegex(answer, /shop/, 'names no namespace');
  const tls = await s.connect();
  tls.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
  t.is((await readToEnd(tls)).length, 0, 'closed without an answer');
  t.is(s.holds.held('shop'), 2, 'a refused connection keeps no slot');
  t.is(await metric(s.registry, 'nozzle_activator_refusals_total', { reason: 'hold-budget' }), 2);
  t.is(await count(s.registry, { kind: 'tls', outcome: 'hold-budget' }), 1);
  first.destroy();
  await eventually('the charge released', () => s.budget.used === HELD_CONNECTION_BYTES + 19);
  t.is(await metric(s.registry, 'nozzle_activator_hold_budget_used_bytes'), s.budget.used);
  const fourth = await s.connect();
  fourth.write('GET /4 HTTP/1.1\r\n\r\n');
  await eventually('held again', () => s.holds.held('shop') === 2);
});

test('a wake refused by a rate limit: 503 with its Retry-After for HTTP, a close for the rest, nothing held', async (t) => {
  const s = await pipeline(t);
  s.wakes.refusing = new WakeRefused('wake-interval', 'shop', 11_500);
  const http = await s.connect();
  http.write('GET /api HTTP/1.1\r\n\r\n');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 503/);
  t.regex(answer, /retry-after: 12/, 'the later of the setting and the limit');
  t.regex(answer, /"error":"wake_limit"/);
  const raw = await s.connect();
  raw.write('\x00raw');
  t.is((await readToEnd(raw)).length, 0);
  t.deepEqual(s.wakes.asked, []);
  t.is(s.holds.held(), 0);
  t.is(s.budget.used, 0);
  t.is(await count(s.registry, { outcome: 'wake-limit' }), 2);
});

test('a crawler gets 503 with Retry-After and wakes nothing; a health checker keeps its 200', async (t) => {
  const s = await pipeline(t);
  for (const path of ['/', '/_nozzle/status']) {
    const bot = await s.connect();
    bot.write(
      `GET ${path} HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (compatible; Googlebot/2.1)\r\nAccept: text/html\r\n\r\n`,
    );
    const answer = (await readToEnd(bot)).toString();
    t.regex(answer, /^HTTP\/1\.1 503/);
    t.regex(answer, /retry-after: 7/);
  }
  const lb = await s.connect();
  lb.write('GET / HTTP/1.1\r\nUser-Agent: ELB-HealthChecker/2.0\r\n\r\n');
  t.regex((await readToEnd(lb)).toString(), /^HTTP\/1\.1 200/);
  t.deepEqual(s.wakes.asked, []);
  t.deepEqual(s.served, [], 'not even the status page');
  t.is(await metric(s.registry, 'nozzle_activator_refusals_total', { reason: 'bot' }), 2);
});

test.serial(
  'slowloris: 200 connections sending a byte a second are all closed by the header timeout; a normal request goes through meanwhile',
  async (t) => {
    const headerTimeoutMs = 1_500;
    const s = await pipeline(t, { headerTimeoutMs });
    const request = 'GET /slow HTTP/1.1\r\nHost: shop.example\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n';
    const clients = await Promise.all(Array.from({ length: 200 }, () => s.connect()));
    const started = performance.now();
    const endedAt: number[] = [];
    const closedAt: number[] = [];
    let stop = false;
    const trickles = clients.map(async (client, i) => {
      // Half begin with their request line at once (then read as HTTP, 408),
      // half trickle from the first byte (still undecided at the deadline).
      client.resume(); // reads what the activator answers, so its FIN is seen when it comes
      let sent = i % 2 === 0 ? 'GET /slow HTTP/1.1\r\n'.length : 0;
      if (sent > 0) client.write(request.slice(0, sent));
      const gone = closed(client).then(() => closedAt.push(performance.now() - started));
      // Ended by the activator (its FIN, or the reset of a destroy) when the client hears of it first.
      void Promise.race([new Promise((r) => client.once('end', r)), gone]).then(() =>
        endedAt.push(performance.now() - started),
      );
      while (!stop && !client.destroyed && sent < request.length - 1) {
        client.write(request[sent++]!);
        await Promise.race([new Promise((r) => setTimeout(r, 1_000)), gone]);
      }
      await gone;
    });
    await new Promise((r) => setTimeout(r, 300));
    const normalStart = performance.now();
    const normal = await s.connect();
    normal.write('GET / HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n');
    await readToEnd(normal);
    const normalMs = performance.now() - normalStart;
    await Promise.all(trickles);
    stop = true;
    t.is(closedAt.length, 200, 'every slow connection closed');
    t.is(endedAt.length, 200);
    const ended = Math.max(...endedAt);
    t.true(ended >= headerTimeoutMs - 50 && ended < headerTimeoutMs + 1_000, `all ended by ${ended} ms`);
    // A 408 lingers (answer.ts, LINGER_MS) then destroys; the client sees the reset on its next byte.
    t.true(
      Math.max(...closedAt) < headerTimeoutMs + 2_000 + 1_000 + 1_500,
      `all closed by ${Math.max(...closedAt)} ms`,
    );
    t.true(normalMs < 1_000, `the normal request took ${normalMs} ms`);
    t.deepEqual(s.served, ['GET / HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n']);
    t.deepEqual(s.wakes.asked, [], 'no slow connection was held or woke anything');
    t.is(s.holds.held(), 0);
    t.is(await metric(s.registry, 'nozzle_activator_refusals_total', { reason: 'header-timeout' }), 200);
    t.is(await count(s.registry, { kind: 'slow', outcome: 'header-timeout' }), 100);
    t.is(await count(s.registry, { kind: 'http1', outcome: 'bad-request' }), 100);
  },
);

test('a held HTTP connection that trickles bytes extends nothing: the readiness timeout still ends it', async (t) => {
  const s = await pipeline(t, { readinessTimeoutMs: 600 });
  const client = await s.connect();
  const started = performance.now();
  client.write('POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n');
  const timer = setInterval(() => client.destroyed || client.write('y'), 50);
  t.teardown(() => clearInterval(timer));
  const answer = (await readToEnd(client)).toString();
  clearInterval(timer);
  t.regex(answer, /^HTTP\/1\.1 504/);
  t.true(performance.now() - started < 1_500);
});
