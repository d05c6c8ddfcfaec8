/**
 * The dialer: the only way from this machine into the sandbox's network,
 * over a Unix socket. Tested here on loopback, where the same code runs.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, forward, serveDialer } from '../../../../scripts/testenv/sandbox/dialer.js';

async function echoServer(): Promise<{ port: number; close(): void }> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('utf8');
      if (got.length >= text.length) resolve(got);
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

test('dial reaches host:port through the Unix socket, and forward opens a loopback port onto it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-dialer-'));
  const echo = await echoServer();
  const dialer = await serveDialer(join(dir, 'dialer.sock'));
  t.teardown(() => {
    echo.close();
    dialer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const direct = dial(join(dir, 'dialer.sock'), '127.0.0.1', echo.port);
  t.is(await roundTrip(direct, 'hello through the dialer'), 'hello through the dialer');
  direct.destroy();

  const forwarded = await forward(join(dir, 'dialer.sock'), '127.0.0.1', echo.port);
  const client = connect(forwarded.port, '127.0.0.1');
  t.is(await roundTrip(client, 'x'.repeat(100_000)), 'x'.repeat(100_000));
  client.destroy();
  forwarded.server.close();
});

test('a malformed target is refused with a line saying so; an unreachable one closes the connection', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-dialer-'));
  const dialer = await serveDialer(join(dir, 'dialer.sock'));
  t.teardown(() => {
    dialer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bad = connect(join(dir, 'dialer.sock'));
  bad.write('no-port-here\n');
  const chunks: Buffer[] = [];
  bad.on('data', (c: Buffer) => chunks.push(c));
  await once(bad, 'end');
  t.regex(Buffer.concat(chunks).toString('utf8'), /bad target "no-port-here"/);

  const closedPort = await echoServer();
  closedPort.close();
  const unreachable = dial(join(dir, 'dialer.sock'), '127.0.0.1', closedPort.port);
  unreachable.on('error', () => {});
  await once(unreachable, 'close');
  t.pass('the connection to a closed port was closed, not left hanging');
});
