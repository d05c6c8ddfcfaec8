/**
 * A WebSocket client on a socket the test already opened (through the
 * sandbox dialer or the gateway's forwarded port): the RFC 6455 opening
 * handshake, one masked text frame, and the first frame that comes back.
 * Enough to prove that an upgrade went through to the app and back.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebSocketEcho {
  /** The status line's code (101 when the upgrade went through). */
  readonly status: number;
  /** The answer's head and, when it is not 101, the start of its body: what a failure shows. */
  readonly head: string;
  /** Whether Sec-WebSocket-Accept was the right one for our key. */
  readonly acceptOk: boolean;
  /** The payload of the first frame received after the handshake. */
  readonly echoed: string;
  readonly seconds: number;
}

/** Upgrades `socket` to a WebSocket at `host` + `path`, sends `message`, and resolves with what came back. */
export function webSocketEcho(
  socket: Socket,
  host: string,
  path: string,
  message: string,
  timeoutMs = 60_000,
): Promise<WebSocketEcho> {
  const started = performance.now();
  const key = randomBytes(16).toString('base64');
  const expected = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no WebSocket echo in ${timeoutMs} ms`));
    }, timeoutMs);
    let buffer = Buffer.alloc(0);
    let head: { status: number; acceptOk: boolean; head: string } | undefined;
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (head === undefined) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 4);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
        head = { status, acceptOk: accept === expected, head: text };
        if (status !== 101) {
          head.head = `${text}\n\n${buffer.subarray(0, 500).toString('utf8')}`;
          clearTimeout(timer);
          socket.destroy();
          resolve({ ...head, echoed: '', seconds: (performance.now() - started) / 1000 });
          return;
        }
        socket.write(maskedTextFrame(message));
      }
      const frame = readFrame(buffer);
      if (frame === undefined) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...head, echoed: frame, seconds: (performance.now() - started) / 1000 });
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
        `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`,
    );
  });
}

/** A client frame: FIN, text, masked (clients must mask), payload under 126 bytes. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length > 125) throw new Error('keep test messages under 126 bytes');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The payload of a complete unmasked server frame at the start of `buffer` (under 126 bytes), or undefined. */
function readFrame(buffer: Buffer): string | undefined {
  if (buffer.length < 2) return undefined;
  const length = buffer[1]! & 0x7f;
  if (buffer.length < 2 + length) return undefined;
  return buffer.subarray(2, 2 + length).toString('utf8');
}
