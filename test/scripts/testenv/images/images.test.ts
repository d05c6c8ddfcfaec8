/**
 * Tests for the stand-in app images of the end-to-end sandbox (echo,
 * tcp-echo): each test starts the compiled program as a child process on a
 * free loopback port, as the kubelet stand-in would, and talks to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { freePort } from '../../../../scripts/testenv/servers/ports.js';

type Image = 'echo' | 'tcp-echo';

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
  readonly output: { stdout: string; stderr: string };
  /** The first line on stdout, written once the image listens; rejects if it exits first. */
  readonly listening: Promise<string>;
}

function start(t: ExecutionContext, image: Image, env: Record<string, string> = {}, port = 0): Running {
  const program = fileURLToPath(new URL(`../../../../scripts/testenv/images/${image}.js`, import.meta.url));
  const child = spawn(process.execPath, [program], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output.stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output.stderr += text));
  // 'close', not 'exit': only then has all of its stdout and stderr been read.
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const end = output.stdout.indexOf('\n');
      if (end >= 0) resolve(output.stdout.slice(0, end));
    });
    void exited.then(([code]) => reject(new Error(`${image} exited with ${code}: ${output.stderr}`)));
  });
  listening.catch(() => {});
  return { child, port, exited, output, listening };
}

/** Starts an image on a free port and waits until it listens. */
async function listening(t: ExecutionContext, image: Image, env: Record<string, string> = {}) {
  const running = start(t, image, env, await freePort());
  await running.listening;
  return running;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Bytes received on a socket, taken in order by the test. */
class Received {
  #data = Buffer.alloc(0);
  #closed = false;
  #wake = (): void => {};

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  async take(bytes: number): Promise<Buffer> {
    while (this.#data.length < bytes) await this.#arrival(`${bytes} bytes`);
    const taken = this.#data.subarray(0, bytes);
    this.#data = this.#data.subarray(bytes);
    return taken;
  }

  async takeThrough(marker: string): Promise<string> {
    while (!this.#data.includes(marker)) await this.#arrival(JSON.stringify(marker));
    return (await this.take(this.#data.indexOf(marker) + marker.length)).toString('latin1');
  }

  async #arrival(awaited: string): Promise<void> {
    if (this.#closed) throw new Error(`closed after ${this.#data.length} bytes, awaiting ${awaited}`);
    await new Promise<void>((resolve) => (this.#wake = resolve));
  }
}

async function open(port: number): Promise<{ socket: Socket; received: Received }> {
  const socket = connect(port, '127.0.0.1');
  const received = new Received(socket);
  await once(socket, 'connect');
  return { socket, received };
}

function openWebSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(ws), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
}

function nextMessage(ws: WebSocket): Promise<string | ArrayBuffer> {
  return new Promise((resolve) => {
    ws.addEventListener('message', (event) => resolve(event.data as string | ArrayBuffer), { once: true });
  });
}

test('echo describes the request: pod, namespace, method, path and headers', async (t) => {
  const echo = await listening(t, 'echo', { POD_NAME: 'web-7d9f-abcde', POD_NAMESPACE: 'shop' });
  const res = await fetch(`http://127.0.0.1:${echo.port}/cart/items?page=2`, {
    headers: { 'x-request-id': 'r-42' },
  });
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/json');
  const body = (await res.json()) as Record<string, unknown>;
  t.like(body, { pod: 'web-7d9f-abcde', namespace: 'shop', method: 'GET', path: '/cart/items?page=2' });
  t.like(body.headers, { 'x-request-id': 'r-42', host: `127.0.0.1:${echo.port}` });
  t.false('body' in body);
});

test('echo falls back to the hostname and an empty namespace without POD_NAME and POD_NAMESPACE', async (t) => {
  const echo = await listening(t, 'echo');
  const body = (await (await fetch(`http://127.0.0.1:${echo.port}/`)).json()) as Record<string, unknown>;
  t.like(body, { pod: hostname(), namespace: '', path: '/' });
});

test('echo returns a POST body as text', async (t) => {
  const echo = await listening(t, 'echo');
  const res = await fetch(`http://127.0.0.1:${echo.port}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"item":"tea","qty":2}',
  });
  const body = (await res.json()) as Record<string, unknown>;
  t.like(body, { method: 'POST', path: '/orders', body: '{"item":"tea","qty":2}' });
  t.like(body.headers, { 'content-type': 'application/json' });
});

test('echo answers /healthz and /readyz with ok', async (t) => {
  const echo = await listening(t, 'echo');
  t.regex(await echo.listening, /^echo listening on 127\.0\.0\.1:\d+$/);
  for (const path of ['/healthz', '/readyz']) {
    const res = await fetch(`http://127.0.0.1:${echo.port}${path}`);
    t.is(res.status, 200, path);
    t.is(await res.text(), 'ok', path);
  }
});

test('echo /ws echoes text and binary messages of every length form, then closes cleanly', async (t) => {
  const echo = await listening(t, 'echo');
  const ws = await openWebSocket(`ws://127.0.0.1:${echo.port}/ws`);

  let reply = nextMessage(ws);
  ws.send('hello, nozzle');
  t.is(await reply, 'hello, nozzle');

  // 7-bit, 16-bit and 64-bit payload length forms.
  for (const size of [5, 300, 1024 * 1024 + 3]) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 256);
    reply = nextMessage(ws);
    ws.send(bytes);
    const echoed = await reply;
    t.true(echoed instanceof ArrayBuffer, `${size} bytes come back as binary`);
    t.deepEqual(new Uint8Array(echoed as ArrayBuffer), bytes, `${size} bytes`);
  }

  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve, { once: true }));
  ws.close(4000, 'done');
  const event = await closed;
  t.is(event.code, 4000);
  t.true(event.wasClean);
});

test('echo /ws accepts the RFC 6455 handshake and answers a ping with a pong', async (t) => {
  const echo = await listening(t, 'echo');
  const { socket, received } = await open(echo.port);
  t.teardown(() => socket.destroy());
  // The key and accept value are the worked example of RFC 6455 section 1.3.
  socket.write(
    'GET /ws HTTP/1.1\r\nhost: echo\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n',
  );
  const response = await received.takeThrough('\r\n\r\n');
  t.regex(response, /^HTTP\/1\.1 101 /);
  t.regex(response, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);

  const mask = [1, 2, 3, 4];
  const payload = Buffer.from('ping').map((byte, i) => byte ^ mask[i % 4]!);
  socket.write(Buffer.from([0x89, 0x80 | 4, ...mask, ...payload]));
  t.deepEqual(await received.take(6), Buffer.from([0x8a, 4, ...Buffer.from('ping')]));
});

test('echo refuses a WebSocket upgrade on another path', async (t) => {
  const echo = await listening(t, 'echo');
  const { socket, received } = await open(echo.port);
  t.teardown(() => socket.destroy());
  socket.write(
    'GET /chat HTTP/1.1\r\nhost: echo\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n',
  );
  t.regex(await received.takeThrough('\r\n'), /^HTTP\/1\.1 404 /);
});

test('STARTUP_DELAY keeps the port closed until the delay has passed', async (t) => {
  const delayMs = 1_500;
  const port = await freePort();
  const startedAt = performance.now();
  const echo = start(t, 'echo', { STARTUP_DELAY: '1500ms' }, port);
  let logged = false;
  void echo.listening.then(() => (logged = true));

  // Probe until the listening line appears; the only timing claims are lower bounds.
  const probes: { at: number; accepted: boolean }[] = [];
  while (!logged) {
    const at = performance.now() - startedAt;
    probes.push({ at, accepted: await accepts(port) });
    await sleep(100);
  }
  const line = await echo.listening;
  t.true(performance.now() - startedAt >= delayMs, 'listening only after the delay');
  t.regex(line, /^echo listening on 127\.0\.0\.1:\d+ after 1500ms startup delay$/);
  t.true(
    probes.some((probe) => !probe.accepted),
    'refused at least once before listening',
  );
  t.deepEqual(
    probes.filter((probe) => probe.accepted && probe.at < delayMs),
    [],
    'never accepted before the delay',
  );
  t.true(await accepts(port), 'accepts once listening');
});

for (const image of ['echo', 'tcp-echo'] as const) {
  test(`${image} exits 2 with a clear message on an invalid STARTUP_DELAY`, async (t) => {
    const running = start(t, image, { STARTUP_DELAY: 'soon' });
    const [code] = await running.exited;
    t.is(code, 2);
    t.is(
      running.output.stderr,
      `${image}: invalid STARTUP_DELAY "soon": want a duration such as 500ms, 3s, 1m or 1m30s\n`,
    );
    t.is(running.output.stdout, '');
  });
}

test('echo exits 0 on SIGTERM with an open WebSocket and a kept-alive connection', async (t) => {
  const echo = await listening(t, 'echo');
  t.is((await fetch(`http://127.0.0.1:${echo.port}/`)).status, 200);
  const ws = await openWebSocket(`ws://127.0.0.1:${echo.port}/ws`);
  const closed = new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }));
  echo.child.kill('SIGTERM');
  t.deepEqual(await echo.exited, [0, null]);
  await closed;
  t.false(await accepts(echo.port));
});

test('tcp-echo echoes bytes back', async (t) => {
  const tcp = await listening(t, 'tcp-echo');
  t.regex(await tcp.listening, /^tcp-echo listening on 127\.0\.0\.1:\d+$/);
  const { socket, received } = await open(tcp.port);
  t.teardown(() => socket.destroy());
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, ...Buffer.from('hello')]);
  socket.write(bytes);
  t.deepEqual(await received.take(bytes.length), bytes);
  socket.write('again');
  t.is((await received.take(5)).toString(), 'again');
});

test('tcp-echo writes GREETING first on every connection', async (t) => {
  const greeting = '220 tcp-echo ready\r\n';
  const tcp = await listening(t, 'tcp-echo', { GREETING: greeting });
  for (let i = 0; i < 2; i++) {
    const { socket, received } = await open(tcp.port);
    t.teardown(() => socket.destroy());
    t.is((await received.take(greeting.length)).toString(), greeting, 'before the client says anything');
    socket.write('HELO');
    t.is((await received.take(4)).toString(), 'HELO');
  }
});

test('tcp-echo exits 0 on SIGTERM with a connection open', async (t) => {
  const tcp = await listening(t, 'tcp-echo');
  const { socket } = await open(tcp.port);
  const closed = once(socket, 'close');
  tcp.child.kill('SIGTERM');
  t.deepEqual(await tcp.exited, [0, null]);
  await closed;
  t.false(await accepts(tcp.port));
});
