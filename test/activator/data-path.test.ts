/**
 * The data path against the real apiserver: port Leases, Services, takeover
 * slices and controller-style EndpointSlices written by the test; the data
 * path listens on the Lease ports on 127.0.0.1 and forwards to "pods" on this
 * machine's non-loopback address (test/support/activator.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminKube, uniqueName } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { closed, readBytes, readToEnd } from '../support/tcp.js';
import {
  controllerSlice,
  metric,
  podIp,
  startDataPath,
  startHttpPod,
  startTcpPod,
  takeOver,
} from '../support/activator.js';

const kube = adminKube();

async function client(t: ExecutionContext, port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/** One sleeping Service `web` (port `http`) in a fresh namespace, and a data path serving it. */
async function stage(t: ExecutionContext, options: Parameters<typeof startDataPath>[3] = {}) {
  const namespace = uniqueName('dp');
  const systemNamespace = uniqueName('dp-sys');
  const web = await takeOver(kube, { namespace, systemNamespace, name: 'web' });
  const running = await startDataPath(t, kube, systemNamespace, options);
  return { namespace, systemNamespace, port: web.ports.get('http')!, web, ...running };
}

test('an HTTP request is held, woken, and spliced byte for byte once its own slice is ready', async (t) => {
  const s = await stage(t);
  const response = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
  const pod = await startTcpPod(t, { reply: () => response });
  const request =
    'POST /api/things?x=1 HTTP/1.1\r\nHost: web\r\nX-CaSe:  kept as sent \r\ncontent-length: 5\r\n\r\nhello';
  const socket = await client(t, s.port);
  socket.write(request);
  await eventually('the wake', () => s.wakes.asked.includes(s.namespace));
  await sleep(200);
  t.is(pod.received.length, 0, 'held: nothing reached the pod before it was ready');
  t.is(s.dataPath.holds.held(s.namespace), 1);
  await controllerSlice(kube, s.namespace, 'web', { port: pod.port });
  t.is((await readBytes(socket, response.length)).toString(), response);
  t.is(pod.received[0]!.toString('latin1'), request, 'the bytes as the client sent them');
  t.is(s.dataPath.holds.held(s.namespace), 0);
  t.is(
    await metric(s.registry, 'nozzle_activator_connections_total', { kind: 'http1', outcome: 'spliced' }),
    1,
  );
});

test('a Service with a ready endpoint of its own is spliced at once, without a wake', async (t) => {
  const s = await stage(t);
  const pod = await startTcpPod(t, { greeting: '220 ready\r\n' });
  await controllerSlice(kube, s.namespace, 'web', { port: pod.port });
  await eventually(
    'the index',
    () => s.index.ready({ namespace: s.namespace, service: 'web', servicePort: 'http' }).length === 1,
  );
  const socket = await client(t, s.port);
  t.is((await readBytes(socket, 11)).toString(), '220 ready\r\n', 'server-speaks-first, no silent delay');
  t.deepEqual(s.wakes.asked, []);
});

test('a WebSocket upgrade is held and spliced to the pod', async (t) => {
  const s = await stage(t);
  const pod = await startHttpPod(t, 'web');
  const socket = await client(t, s.port);
  socket.write(
    'GET /socket HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await eventually('the wake', () => s.wakes.asked.length > 0);
  await controllerSlice(kube, s.namespace, 'web', { port: pod.port });
  const head = (await readBytes(socket, 12)).toString();
  t.regex(head, /^HTTP\/1\.1 101/);
  socket.write('ping');
  await eventually(
    'the echo',
    async () => (await readBytes(socket, 1)).toString().includes('p') || undefined,
    { timeout: 5000 },
  );
  t.is(pod.requests[0]?.url, '/socket');
});

test('raw TCP, client first and server first, is held and spliced', async (t) => {
  const s = await stage(t);
  const echo = await startTcpPod(t, { greeting: 'HELLO\n' });
  const first = await client(t, s.port);
  first.write(Buffer.from([0x00, 0x01, 0x02, 0xff]));
  const silent = await client(t, s.port); // sends nothing: server-speaks-first
  await eventually('two held', () => s.dataPath.holds.held(s.namespace) === 2);
  await controllerSlice(kube, s.namespace, 'web', { port: echo.port });
  t.is((await readBytes(silent, 6)).toString(), 'HELLO\n');
  const got = await readBytes(first, 10);
  t.deepEqual(got, Buffer.concat([Buffer.from('HELLO\n'), Buffer.from([0x00, 0x01, 0x02, 0xff])]));
  t.is(
    await metric(s.registry, 'nozzle_activator_connections_total', { kind: 'silent', outcome: 'spliced' }),
    1,
  );
  t.is(
    await metric(s.registry, 'nozzle_activator_connections_total', { kind: 'other', outcome: 'spliced' }),
    1,
  );
});

test('TLS bytes are spliced untouched', async (t) => {
  const s = await stage(t);
  const pod = await startTcpPod(t, { reply: () => '' });
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);
  const socket = await client(t, s.port);
  socket.write(hello);
  await eventually('held', () => s.dataPath.holds.held(s.namespace) === 1);
  await controllerSlice(kube, s.namespace, 'web', { port: pod.port });
  await eventually('the ClientHello at the pod', () => pod.received[0]?.equals(hello));
  t.is(
    await metric(s.registry, 'nozzle_activator_connections_total', { kind: 'tls', outcome: 'spliced' }),
    1,
  );
});

test('a browser GET gets the waiting page and starts the wake; /_nozzle/status shows only its namespace', async (t) => {
  const s = await stage(t);
  const other = await takeOver(kube, {
    namespace: uniqueName('dp-other'),
    systemNamespace: s.systemNamespace,
    name: 'web',
  });
  await eventually('both ports', () => s.dataPath.listening().length === 2);
  const browser = await client(t, s.port);
  browser.write('GET / HTTP/1.1\r\nHost: web.example\r\nAccept: text/html,*/*;q=0.8\r\n\r\n');
  const page = (await readToEnd(browser)).toString();
  t.regex(page, /^HTTP\/1\.1 503/);
  t.regex(page, /connection: close/i);
  t.regex(page, /<html/i);
  t.deepEqual(s.wakes.asked, [s.namespace]);

  const status = await client(t, other.ports.get('http')!);
  status.write('GET /_nozzle/status HTTP/1.1\r\nHost: web.example\r\nAccept: application/json\r\n\r\n');
  const text = (await readToEnd(status)).toString();
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { namespace: string; phase: string };
  t.is(body.namespace, other.namespace);
  t.is(body.phase, 'waking');
});

test('a TCP health check (connect, close) and a health checker User-Agent start no wake', async (t) => {
  const s = await stage(t);
  const check = await client(t, s.port);
  check.end();
  await closed(check);
  const lb = await client(t, s.port);
  lb.write('GET /healthz HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: ELB-HealthChecker/2.0\r\n\r\n');
  t.regex((await readToEnd(lb)).toString(), /^HTTP\/1\.1 200 OK/);
  await eventually(
    'the closed-silent metric',
    async () =>
      (await metric(s.registry, 'nozzle_activator_connections_total', { outcome: 'closed-silent' })) === 1,
  );
  t.deepEqual(s.wakes.asked, []);
});

test("port A is never forwarded to Service B's pods", async (t) => {
  const s = await stage(t);
  const api = await takeOver(kube, {
    namespace: s.namespace,
    systemNamespace: s.systemNamespace,
    name: 'api',
  });
  const webPod = await startHttpPod(t, 'web');
  const apiPod = await startHttpPod(t, 'api');
  await controllerSlice(kube, s.namespace, 'api', { port: apiPod.port });
  await eventually('both ports', () => s.dataPath.listening().length === 2);
  const toWeb = await client(t, s.port);
  toWeb.write('GET /w HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  const toApi = await client(t, api.ports.get('http')!);
  toApi.write('GET /a HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  t.regex((await readToEnd(toApi)).toString(), /api: GET \/a$/);
  await sleep(200);
  t.is(s.dataPath.holds.held(s.namespace), 1, 'web still held though api is ready');
  await controllerSlice(kube, s.namespace, 'web', { port: webPod.port });
  t.regex((await readToEnd(toWeb)).toString(), /web: GET \/w$/);
  t.deepEqual(
    apiPod.requests.map((r) => r.url),
    ['/a'],
  );
});

test('a takeover slice and the ClusterIP are never forwarded to', async (t) => {
  const s = await stage(t);
  const decoy = await startTcpPod(t);
  const pod = await startHttpPod(t, 'web');
  // Nozzle's own slice with a ready "pod", and a controller slice listing the ClusterIP.
  await takeOver(kube, { namespace: s.namespace, systemNamespace: uniqueName('dp-unused'), name: 'decoy' });
  await kube.discovery.createNamespacedEndpointSlice({
    namespace: s.namespace,
    body: {
      metadata: {
        name: 'web-nozzle-extra',
        labels: {
          'kubernetes.io/service-name': 'web',
          'endpointslice.kubernetes.io/managed-by': 'nozzle.io',
        },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: decoy.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [podIp()], conditions: { ready: true } }],
    },
  });
  await controllerSlice(kube, s.namespace, 'web', { ip: s.web.service.spec!.clusterIP!, port: decoy.port });
  const socket = await client(t, s.port);
  socket.write('GET /x HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  await sleep(500);
  t.is(s.dataPath.holds.held(s.namespace), 1, 'still held');
  t.is(decoy.received.length, 0);
  await controllerSlice(kube, s.namespace, 'web', { port: pod.port });
  t.regex((await readToEnd(socket)).toString(), /web: GET \/x$/);
  t.is(decoy.received.length, 0);
});

test('over the hold limit: HTTP gets 503 with Retry-After, anything else is closed; a client leaving frees its slot', async (t) => {
  const s = await stage(t, { holdLimit: 1 });
  const first = await client(t, s.port);
  first.write('GET /1 HTTP/1.1\r\nHost: web\r\n\r\n');
  await eventually('held', () => s.dataPath.holds.held(s.namespace) === 1);
  const second = await client(t, s.port);
  second.write('GET /2 HTTP/1.1\r\nHost: web\r\n\r\n');
  const answer = (await readToEnd(second)).toString();
  t.regex(answer, /^HTTP\/1\.1 503/);
  t.regex(answer, /retry-after: 7/i);
  const tls = await client(t, s.port);
  tls.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
  t.is((await readToEnd(tls)).length, 0, 'closed without an answer');
  t.is(
    await metric(s.registry, 'nozzle_activator_connections_total', { kind: 'tls', outcome: 'hold-limit' }),
    1,
  );
  first.destroy();
  await eventually('the slot freed', () => s.dataPath.holds.held(s.namespace) === 0, { timeout: 2000 });
});

test('past the readiness timeout: HTTP gets 504 naming nothing internal, anything else is closed', async (t) => {
  const s = await stage(t, { settings: { readinessTimeoutMs: 600 } });
  await takeOver(kube, { namespace: s.namespace, systemNamespace: s.systemNamespace, name: 'db' });
  const http = await client(t, s.port);
  http.write('GET / HTTP/1.1\r\nHost: web\r\n\r\n');
  const raw = await client(t, s.port);
  raw.write('\x00binary');
  const answer = (await readToEnd(http)).toString();
  t.regex(answer, /^HTTP\/1\.1 504/);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  t.deepEqual(Object.keys(body).sort(), ['error', 'message']);
  t.is(body.error, 'readiness_timeout');
  t.false(JSON.stringify(body).includes(s.namespace), 'the namespace is not named to an anonymous client');
  t.is((await readToEnd(raw)).length, 0, 'closed without an answer');
  t.is(await metric(s.registry, 'nozzle_activator_connections_total', { outcome: 'timeout' }), 2);
});

test('a deleted port Lease closes its listener; a new one opens', async (t) => {
  const s = await stage(t);
  t.deepEqual(s.dataPath.listening(), [s.port]);
  await kube.coordination.deleteNamespacedLease({
    namespace: s.systemNamespace,
    name: `nozzle-port-${s.port}`,
  });
  await eventually('closed', () => s.dataPath.listening().length === 0);
  t.is(await metric(s.registry, 'nozzle_activator_listeners'), 0);
});
