/**
 * A client that opens a request and waits a moment for an answer: answered
 * (a refusal: its status, headers, time) or not (held by the activator: the
 * socket is kept open until the caller lets it go). What the exhaustion runs
 * open by the thousand.
 */
import { connect, type Socket } from 'node:net';

export interface Attempt {
  /** The answer's status, or undefined while held. */
  readonly status: number | undefined;
  readonly head: string;
  /** From connect to the answer's first byte (or to `waitMs` when held). */
  readonly ms: number;
  /** Open while held; destroy it to let go. */
  readonly socket: Socket;
  /** Resolves when the connection closes, with everything it received. */
  readonly closed: Promise<string>;
}

export async function attempt(port: number, request: string | Buffer, waitMs: number): Promise<Attempt> {
  const started = performance.now();
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  const closed = new Promise<string>((resolve) =>
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1'))),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  const first = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), waitMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
    socket.once('close', () => (clearTimeout(timer), resolve(performance.now() - started)));
  });
  if (first !== undefined) await Promise.race([closed, new Promise((r) => setTimeout(r, 100))]);
  const text = Buffer.concat(chunks).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
  return {
    status: status === undefined ? undefined : Number(status),
    head: text.split('\r\n\r\n')[0] ?? '',
    ms: first ?? waitMs,
    socket,
    closed,
  };
}

/** An API request (held by a sleeping namespace's activator port, not a browser navigation). */
export const apiRequest = (path: string, body = ''): string =>
  `${body ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: web\r\nAccept: application/json\r\nUser-Agent: bench/1\r\n` +
  `${body ? `Content-Length: ${body.length}\r\n` : ''}Connection: close\r\n\r\n${body}`;
