/**
 * Real sockets on 127.0.0.1 for the activator's connection-level tests: a
 * server whose accepted sockets arrive in order, a half-open client, reading
 * to the end, and free ports.
 */
import type { ExecutionContext } from 'ava';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** The next accepted socket (in accept order). */
  accepted(): Promise<Socket>;
}

/** A half-open server on 127.0.0.1 that closes (destroying what it accepted) when the test ends. */
export async function tcpServer(
  t: ExecutionContext,
  onConnection?: (s: Socket) => void,
): Promise<TestServer> {
  const queue: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection?.(socket);
    const next = waiting.shift();
    if (next) next(socket);
    else queue.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted: () => {
      const socket = queue.shift();
      return socket ? Promise.resolve(socket) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A connected, half-open client socket, destroyed when the test ends. */
export async function tcpClient(t: ExecutionContext, port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
  socket.on('error', () => undefined); // a reset is what some tests expect; they watch 'close'
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** Everything `socket` sends until its FIN. */
export async function readToEnd(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The next `length` bytes or more from `socket`, which is left paused; rejects if it ends or closes first. */
export function readBytes(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const settle = (error?: Error): void => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).pause();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) settle();
    };
    const onEnd = (): void => settle(new Error(`ended after ${got} of ${length} bytes`));
    socket.on('data', onData).once('end', onEnd).once('close', onEnd).resume();
  });
}

/** Ports that were free a moment ago (bound on port 0 together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves once `socket` has closed (at once if it already has), whether or not with an error. */
export function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
