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
import { HoldSlots } from '../../activator/holds.js';
import { createActivatorMetrics } from '../../activator/metrics.js';
import type { PortTarget } from '../../lib/takeover/port-assignment.js';
import { FakeWakes, metric, silentLog, testSettings } from '../support/activator.js';
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

async function pipeline(t: ExecutionContext, settings: Partial<ConnectionSettings> = {}, holdLimit = 10) {
  const registry = new Registry();
  const index = new FakeIndex();
  const wakes = new FakeWakes();
  const holds = new HoldSlots(holdLimit);
  const served: string[] = [];
  const pages = {
    serve: (socket: Socket, bytes: Buffer) => {
      served.push(bytes.toString('latin1'));
      socket.destroy();
      return Promise.resolve();
    },
  };
  const p = new ConnectionPipeline({
    index,
    wakes,
    holds,
    pages,
    metrics: createActivatorMetrics(registry),
    log: silentLog,
    settings: testSettings(settings),
  });
  const listener = await tcpServer(t, (socket) => void p.handle(socket, TARGET));
  const upstream = await tcpServer(t);
  const connect = () => tcpClient(t, listener.port);
  return { registry, index, wakes, holds, served, connect, upstream };
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

test('past the readiness timeout: 504 naming what is not ready, a close for the rest', async (t) => {
  const s = await pipeline(t, { readinessTimeoutMs: 100 });
  const http = await s.connect();
  http.write('GET / HTTP/1.1\r\n\r\n');
  const raw = await s.connect();
  raw.write('\x00raw');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 504 Gateway Timeout/);
  t.regex(answer, /"notReady":\["web","db"\]/);
  t.is((await readToEnd(raw)).length, 0, 'closed without an answer');
  t.is(await count(s.registry, { outcome: 'timeout' }), 2);
});

test('a failed wake answers 502 with its message before the timeout', async (t) => {
  const s = await pipeline(t);
  s.wakes.fail('shop', 'restoring Deployment web: forbidden');
  const http = await s.connect();
  http.write('GET / HTTP/1.1\r\n\r\n');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 502/);
  t.regex(answer, /restoring Deployment web: forbidden/);
});
