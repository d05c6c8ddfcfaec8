/** The dialer over real loopback sockets: round robin per target, a refused pod skipped, out of files retried. */
import test, { type ExecutionContext } from 'ava';
import { Socket, connect, createServer, type NetConnectOpts, type Server } from 'node:net';
import { Dialer } from '../../activator/dial.js';
import type { ReadyEndpoint } from '../../activator/ready-endpoints.js';

async function listening(t: ExecutionContext): Promise<{ server: Server; endpoint: ReadyEndpoint }> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  return { server, endpoint: { ip: '127.0.0.1', port, family: 4, address: `127.0.0.1:${port}` } };
}

/** A port nothing listens on: connections are refused. */
async function refused(): Promise<ReadyEndpoint> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { ip: '127.0.0.1', port, family: 4, address: `127.0.0.1:${port}` };
}

test('round robin per target: consecutive connections go to the next ready pod', async (t) => {
  const a = await listening(t);
  const b = await listening(t);
  const dialer = new Dialer(1_000);
  const ports: number[] = [];
  for (let i = 0; i < 4; i++) {
    const socket = await dialer.connect('ns/web/http', [a.endpoint, b.endpoint]);
    ports.push(socket!.remotePort!);
    socket!.destroy();
  }
  t.deepEqual(ports, [a.endpoint.port, b.endpoint.port, a.endpoint.port, b.endpoint.port]);
});

test('a pod that refuses is skipped for the next; none accepting is undefined', async (t) => {
  const a = await listening(t);
  const gone = await refused();
  const dialer = new Dialer(1_000);
  const socket = await dialer.connect('ns/web/http', [gone, a.endpoint]);
  t.is(socket?.remotePort, a.endpoint.port);
  socket?.destroy();
  t.is(await dialer.connect('ns/api/http', [gone]), undefined);
});

test('out of file descriptors is tried again within the timeout, not failed', async (t) => {
  const a = await listening(t);
  let failures = 2;
  // As Node reports it: the connect fails asynchronously with EMFILE, nothing was opened.
  const outOfFiles = (options: NetConnectOpts): Socket => {
    if (failures-- > 0) {
      const socket = new Socket();
      process.nextTick(() =>
        socket.emit('error', Object.assign(new Error('connect EMFILE'), { code: 'EMFILE' })),
      );
      return socket;
    }
    return connect(options);
  };
  const dialer = new Dialer(2_000, outOfFiles);
  const socket = await dialer.connect('ns/web/http', [a.endpoint]);
  t.is(socket?.remotePort, a.endpoint.port);
  t.is(failures, -1, 'two EMFILE, then the third attempt connected');
  socket?.destroy();
});
