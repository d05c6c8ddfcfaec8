/**
 * The activator's own HTTP/1.1 answers on a raw connection (refused heads,
 * hold limit, readiness timeout, health checkers): JSON or text, always
 * `Connection: close`. After the answer the client's further bytes are read
 * and dropped for a moment, so that unread request bytes do not turn the
 * close into a reset that would cut the answer off.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ACTIVATOR_HEADER } from './responses.js';

/** How long the activator waits for the client to close after an answer. */
export const LINGER_MS = 2_000;

export function answer(
  socket: Socket,
  status: number,
  body: object | string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`,
    `content-type: ${type}`,
    `content-length: ${Buffer.byteLength(text)}`,
    'cache-control: no-store',
    'connection: close',
    `${ACTIVATOR_HEADER}: 1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  if (socket.destroyed) return;
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
