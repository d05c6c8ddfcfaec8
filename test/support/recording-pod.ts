/**
 * The "pod" of one namespace in the bad-input runs: a node:http server on
 * podIp() that keeps every byte each connection brought (tapped before the
 * parser, so malformed and smuggled requests are recorded too) and answers
 * `<name>: <method> <url>`. Requests carry a probe mark naming the
 * namespace they were sent to (`probe-<label>-<n>`); a mark of another
 * namespace in a pod's bytes is a request delivered to the wrong namespace.
 */
import type { ExecutionContext } from 'ava';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { podIp } from './activator.js';

export interface RecordingPod {
  readonly name: string;
  readonly port: number;
  /** Every connection's bytes, as received so far. */
  readonly received: Buffer[];
  /** The probe marks found in what it received: label -> the numbers seen (`probe-a-3` -> a: {3}). */
  marks(): Map<string, Set<number>>;
  close(): void;
}

/** A probe mark: what a request sent to the namespace labelled `label` carries. */
export const probeMark = (label: string, n: number): string => `probe-${label}-${n}`;

export async function startRecordingPod(
  t: ExecutionContext | undefined,
  name: string,
): Promise<RecordingPod> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ requestTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    req.resume();
    req.on('error', () => undefined);
    req.on('end', () => res.end(`${name}: ${req.method} ${req.url}`));
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const i = received.push(Buffer.alloc(0)) - 1;
    socket.on('data', (chunk: Buffer) => (received[i] = Buffer.concat([received[i]!, chunk])));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      return void socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.end();
  });
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  server.listen(0, podIp());
  await once(server, 'listening');
  const close = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  t?.teardown(close);
  return {
    name,
    port: (server.address() as AddressInfo).port,
    received,
    marks: () => {
      const marks = new Map<string, Set<number>>();
      for (const bytes of received) {
        for (const m of bytes.toString('latin1').matchAll(/probe-([a-z]+)-(\d+)/g)) {
          const seen = marks.get(m[1]!) ?? new Set<number>();
          marks.set(m[1]!, seen.add(Number(m[2])));
        }
      }
      return marks;
    },
    close,
  };
}
