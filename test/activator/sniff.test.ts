/**
 * Classifying a new connection from its first bytes, on real sockets: each
 * kind, bytes split across packets, silent vs closed without a byte, the
 * bounded prefix and deadline, and the bytes replayed into Node's HTTP parser.
 */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { classify, replayToHttpServer, sniff, type SniffOptions } from '../../activator/sniff.js';
import { text } from 'node:stream/consumers';
import { tcpClient, tcpServer } from '../support/tcp.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]);

/** A client connected to a server that sniffs what it accepts. */
async function sniffing(t: ExecutionContext, options?: SniffOptions) {
  const server = await tcpServer(t);
  const client = await tcpClient(t, server.port);
  const accepted = await server.accepted();
  return { client, accepted, sniffed: sniff(accepted, options) };
}

/** Writes each part as its own packet (no Nagle, a pause between). */
async function writeParts(socket: Socket, parts: (string | Buffer)[]): Promise<void> {
  for (const part of parts) {
    socket.write(part);
    await sleep(20);
  }
}

const kinds = [
  ['http1', 'GET /index.html?q=1 HTTP/1.1\r\nHost: app\r\n\r\n'],
  ['http1', 'OPTIONS * HTTP/1.0\r\n\r\n'],
  ['http2-prior-knowledge', `${PREFACE}\x00\x00\x00\x04\x00\x00\x00\x00\x00`],
  ['tls', CLIENT_HELLO],
  ['other', 'SSH-2.0-OpenSSH_9.6\r\n'],
  ['other', Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f])], // PostgreSQL SSLRequest
  ['other', 'FOO / HTTP/1.1\r\n\r\n'], // a method Node's parser would refuse
  ['other', 'get / HTTP/1.1\r\n\r\n'],
  ['other', 'GET / HTTP/2.0\r\n\r\n'],
] as const;

for (const [kind, bytes] of kinds) {
  test(`one packet: ${JSON.stringify(bytes.toString('latin1').slice(0, 24))} is ${kind}`, async (t) => {
    const { client, sniffed } = await sniffing(t);
    client.write(bytes);
    const result = await sniffed;
    t.is(result.kind, kind);
    t.deepEqual(result.bytes, Buffer.from(bytes));
  });
}

const split = [
  ['http1', ['G', 'ET', ' /a', 'pi/items HTT', 'P/1', '.1\r\nHost: app\r\n\r\n']],
  ['http1', ['\r\n', 'POST /x HTTP/1.1\r\n']],
  ['http2-prior-knowledge', ['PRI * HTTP/', '2.0\r\n\r\n', 'SM\r\n\r\n']],
  ['tls', [Buffer.from([0x16]), Buffer.from([0x03]), Buffer.from([0x03, 0x00, 0x10])]],
  ['other', ['GET ', ' HTTP/1.1']], // an empty request target
  ['other', [Buffer.from([0x16]), Buffer.from([0x04])]],
] as const;

for (const [kind, parts] of split) {
  test(`split across packets: ${JSON.stringify(parts.map((p) => p.toString('latin1')))} is ${kind}`, async (t) => {
    const { client, sniffed } = await sniffing(t);
    await writeParts(client, [...parts]);
    const result = await sniffed;
    t.is(result.kind, kind);
    // Nothing read is lost: the bytes are what was sent, up to where it was decided.
    const sent = Buffer.concat(parts.map((p) => Buffer.from(p)));
    t.deepEqual(result.bytes, sent.subarray(0, result.bytes.length));
    t.true(result.bytes.length > 0);
  });
}

test('a connection closed without a byte is closed-silent (a TCP health check)', async (t) => {
  const { client, sniffed } = await sniffing(t);
  client.end();
  const result = await sniffed;
  t.is(result.kind, 'closed-silent');
  t.is(result.bytes.length, 0);
});

test('a connection reset without a byte is closed-silent too', async (t) => {
  const { client, sniffed } = await sniffing(t);
  client.resetAndDestroy();
  t.is((await sniffed).kind, 'closed-silent');
});

test('a connection open without a byte is silent after the delay (server speaks first)', async (t) => {
  const started = performance.now();
  const { accepted, sniffed } = await sniffing(t, { silentDelayMs: 100 });
  const result = await sniffed;
  t.is(result.kind, 'silent');
  t.is(result.bytes.length, 0);
  t.true(performance.now() - started >= 99);
  t.false(accepted.destroyed);
});

test('the default silent delay is 250 ms', async (t) => {
  const started = performance.now();
  const { sniffed } = await sniffing(t);
  t.is((await sniffed).kind, 'silent');
  t.true(performance.now() - started >= 249);
});

test('bytes that stop short of a decision and then a FIN are other, and kept', async (t) => {
  const { client, sniffed } = await sniffing(t);
  client.end('GET / HT');
  const result = await sniffed;
  t.is(result.kind, 'other');
  t.is(result.bytes.toString(), 'GET / HT');
});

test('a request line longer than the bound is other, and all that was read is returned', async (t) => {
  const { client, sniffed } = await sniffing(t, { maxPrefixBytes: 1024 });
  const long = `GET /${'a'.repeat(4000)} HTTP/1.1\r\n\r\n`;
  await writeParts(client, [long.slice(0, 600), long.slice(600)]);
  const result = await sniffed;
  t.is(result.kind, 'other');
  t.true(result.bytes.length >= 1024);
  t.deepEqual(result.bytes, Buffer.from(long).subarray(0, result.bytes.length));
});

test('a connection that trickles an HTTP request line is slow at the deadline', async (t) => {
  const { client, sniffed } = await sniffing(t, { deadlineMs: 300 });
  let stop = false;
  void (async () => {
    client.write('GET /');
    while (!stop && !client.destroyed) {
      client.write('a');
      await sleep(10);
    }
  })();
  const result = await sniffed;
  stop = true;
  t.is(result.kind, 'slow');
  t.true(result.bytes.toString().startsWith('GET /a'));
});

for (const handOverAfterMs of [0, 50]) {
  test(`sniffed HTTP/1 bytes replayed into node:http (handed over after ${handOverAfterMs} ms): the request arrives whole`, async (t) => {
    const http = createHttpServer((req, res) => {
      void text(req).then((body) => res.end(`${req.method} ${req.url} ${req.headers.host} ${body}`));
    });
    t.teardown(() => http.close());
    const server = await tcpServer(t, (socket) => {
      void sniff(socket).then(async ({ kind, bytes }) => {
        t.is(kind, 'http1');
        // Bytes that arrive while the connection waits stay queued behind the sniffed ones.
        if (handOverAfterMs > 0) await sleep(handOverAfterMs);
        replayToHttpServer(http, socket, bytes);
      });
    });
    const req = request({ port: server.port, host: '127.0.0.1', method: 'POST', path: '/submit?x=1' });
    req.setHeader('host', 'app.test');
    req.flushHeaders();
    await sleep(20); // the body as packets of their own, after the sniff decided
    req.write('hello ');
    await sleep(20);
    req.end('world');
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    t.is(res.statusCode, 200);
    t.is(await text(res), 'POST /submit?x=1 app.test hello world');
  });
}

test('classify decides on the smallest prefix it can and waits otherwise', (t) => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  t.is(classify(b('')), undefined);
  t.is(classify(b('GET')), undefined);
  t.is(classify(b('GET /')), undefined);
  t.is(classify(b('GET / HTTP/1.')), undefined);
  t.is(classify(b('GET / HTTP/1.1')), 'http1');
  t.is(classify(b('PRI * HTTP/2.0\r\n')), undefined);
  t.is(classify(b(PREFACE)), 'http2-prior-knowledge');
  t.is(classify(b('PRI * HTTP/1.1\r\n')), 'other');
  t.is(classify(Buffer.from([0x16])), undefined);
  t.is(classify(Buffer.from([0x16, 0x03, 0x04])), 'tls');
  t.is(classify(Buffer.from([0x16, 0x03, 0x10])), 'other');
  t.is(classify(b('X')), 'other');
  t.is(classify(b('GET /\x01 HTTP/1.1')), 'other');
  t.is(classify(b(`GET /${'a'.repeat(100)}`), 64), 'other');
});
