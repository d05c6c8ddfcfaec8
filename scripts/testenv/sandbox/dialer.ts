/**
 * The way into the sandbox's network from this machine, without a route to
 * it: a Unix socket (a path in the file system, so it crosses network
 * namespaces) served inside the sandbox. A client writes one line, the
 * `host:port` it wants, and the server connects there and splices the two.
 * Names resolve through the sandbox's cluster DNS, as a pod's would.
 *
 * On top of it, `forward` is an entry point on this machine's loopback
 * (NOZZLE_GATEWAY_URL, the apiserver for kubectl), and `dial` is a
 * connection for an HTTP agent in a test.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

const MAX_LINE = 512;

/** Inside the sandbox: accepts `host:port\n`, connects, splices. */
export async function serveDialer(path: string): Promise<Server> {
  const server = createServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(10);
      if (newline < 0) {
        if (head.length > MAX_LINE) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const target = head.subarray(0, newline).toString('utf8').trim();
      const rest = head.subarray(newline + 1);
      const colon = target.lastIndexOf(':');
      const port = Number(target.slice(colon + 1));
      const host = target.slice(0, colon).replace(/^\[|\]$/g, '');
      if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
        client.end(`bad target ${JSON.stringify(target)}\n`);
        return;
      }
      const upstream = connect({ host, port });
      upstream.on('connect', () => {
        if (rest.length > 0) upstream.write(rest);
        splice(client, upstream);
        client.resume();
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
  server.listen(path);
  await once(server, 'listening');
  return server;
}

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** From this machine: a socket connected to `host:port` inside the sandbox. */
export function dial(dialerPath: string, host: string, port: number): Socket {
  const socket = connect(dialerPath);
  socket.write(`${host}:${port}\n`);
  return socket;
}

/** A listener on this machine's 127.0.0.1 that forwards every connection to `host:port` in the sandbox. */
export async function forward(
  dialerPath: string,
  host: string,
  port: number,
  localPort = 0,
): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = dial(dialerPath, host, port);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    splice(client, upstream);
  });
  server.listen(localPort, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address for the forwarded port');
  return { server, port: address.port };
}
