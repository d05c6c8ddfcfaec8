import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRequestHead, readRequestHead } from '../../activator/request-head.js';
import { tcpClient, tcpServer } from '../support/tcp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('a head parses into method, path and lower-case headers, repeated ones joined', (t) => {
  const head = parseRequestHead(
    b(
      '\r\nGET /a/b?q=1 HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nX-Two: 1\r\nx-two: 2\r\nUser-Agent:  GoogleHC/1.0 \r\n\r\n',
    ),
  );
  t.deepEqual(head, {
    method: 'GET',
    target: '/a/b?q=1',
    path: '/a/b',
    version: '1.1',
    headers: { host: 'x', accept: 'text/html', 'x-two': '1, 2', 'user-agent': 'GoogleHC/1.0' },
  });
  t.is((parseRequestHead(b('GET http://h:8/p?x HTTP/1.0\n\n')) as { path: string }).path, '/p');
  t.is((parseRequestHead(b('CONNECT h:443 HTTP/1.1\r\n\r\n')) as { path: string }).path, '');
  t.is((parseRequestHead(b('OPTIONS * HTTP/1.1\r\n\r\n')) as { path: string }).path, '');
});

test('malformed heads are refused with the reason', (t) => {
  t.regex(parseRequestHead(b('GET / HTTP/2.0\r\n\r\n')) as string, /invalid request line/);
  t.regex(parseRequestHead(b('GET / HTTP/1.1\r\nNo colon\r\n\r\n')) as string, /invalid header line/);
  t.regex(parseRequestHead(b('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n')) as string, /invalid header line/);
  t.regex(parseRequestHead(b('GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n')) as string, /folding/);
  t.regex(parseRequestHead(b('GET / HTTP/1.1\r\nA: \x01\r\n\r\n')) as string, /invalid characters/);
  t.regex(parseRequestHead(b('GET foo HTTP/1.1\r\n\r\n')) as string, /invalid request target/);
});

test('the head is read across chunks; every byte is kept, body bytes included', async (t) => {
  const server = await tcpServer(t);
  const client = await tcpClient(t, server.port);
  const socket = await server.accepted();
  socket.pause();
  const reading = readRequestHead(socket, b('POST /x HTTP/1.1\r\n'), { timeoutMs: 2_000 });
  client.write('Content-Length: 4\r\n');
  await sleep(20);
  client.write('\r\nbody');
  const result = await reading;
  t.true(result.ok);
  t.is(result.bytes.toString('latin1'), 'POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody');
  t.true(socket.isPaused());
});

test('too large, too slow, and a client that leaves are told apart', async (t) => {
  const server = await tcpServer(t);
  const big = await tcpClient(t, server.port);
  const bigSocket = await server.accepted();
  big.write(`X-Big: ${'a'.repeat(200)}\r\n`);
  const tooLarge = await readRequestHead(bigSocket, b('GET / HTTP/1.1\r\n'), {
    timeoutMs: 2_000,
    maxBytes: 100,
  });
  t.like(tooLarge, { ok: false, problem: 'too-large' });

  await tcpClient(t, server.port);
  const slow = await readRequestHead(await server.accepted(), b('GET / HTTP/1.1\r\n'), { timeoutMs: 50 });
  t.like(slow, { ok: false, problem: 'timeout' });

  const leaving = await tcpClient(t, server.port);
  const leavingSocket = await server.accepted();
  const read = readRequestHead(leavingSocket, b('GET / HTTP/1.1\r\n'), { timeoutMs: 2_000 });
  leaving.destroy();
  t.like(await read, { ok: false, problem: 'closed' });
});
