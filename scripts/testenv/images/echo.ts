/**
 * The `nozzle.test/echo` image of the end-to-end sandbox: an HTTP server that
 * answers every request with a JSON description of it (which pod answered,
 * method, path, headers, body), readiness endpoints, and a WebSocket echo on
 * /ws. Standard library only; see startup.ts for PORT, HOST, STARTUP_DELAY.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { serve } from './startup.js';

const webSocketGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const maxPayload = 16 * 1024 * 1024;

const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

function createEchoServer(): Server {
  const server = createServer((req, res) => void answer(req, res));
  server.on('upgrade', upgrade);
  return server;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/healthz' || path === '/readyz')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  let body: string;
  try {
    body = await readBody(req);
  } catch {
    res.destroy();
    return;
  }
  const description = {
    pod: process.env.POD_NAME ?? process.env.HOSTNAME ?? hostname(),
    namespace: process.env.POD_NAMESPACE ?? '',
    method: req.method,
    path: req.url,
    headers: req.headers,
    ...(body === '' ? {} : { body }),
  };
  const json = `${JSON.stringify(description)}\n`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const key = req.headers['sec-websocket-key'];
  if (pathOf(req) !== '/ws') return refuse(socket, '404 Not Found');
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    return refuse(socket, '400 Bad Request');
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    return refuse(socket, '426 Upgrade Required', 'sec-websocket-version: 13\r\n');
  }
  const accept = createHash('sha1')
    .update(key + webSocketGuid)
    .digest('base64');
  // Browser-style clients fail the connection when they offered subprotocols and none is chosen.
  const protocol = req.headers['sec-websocket-protocol']?.split(',')[0]?.trim();
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      `sec-websocket-accept: ${accept}\r\n` +
      (protocol ? `sec-websocket-protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
  echoFrames(socket, head);
}

function refuse(socket: Duplex, status: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n${headers}\r\n`);
}

/** Echoes data frames as they come (so fragmented messages too), answers pings and closes. */
function echoFrames(socket: Duplex, head: Buffer): void {
  const reader = new FrameReader();
  let closed = false;
  const close = (payload: Buffer): void => {
    closed = true;
    socket.end(encodeFrame(Opcode.close, payload));
  };
  const onData = (chunk: Buffer): void => {
    try {
      for (const frame of reader.push(chunk)) {
        if (closed) return;
        if (frame.opcode === Opcode.close) close(frame.payload.subarray(0, 2));
        else if (frame.opcode === Opcode.ping) socket.write(encodeFrame(Opcode.pong, frame.payload));
        else if (frame.opcode !== Opcode.pong) {
          socket.write(encodeFrame(frame.opcode, frame.payload, frame.fin));
        }
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (closed) return;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(error.code);
      close(payload);
    }
  };
  socket.on('data', onData);
  socket.on('end', () => socket.end());
  if (head.length > 0) onData(head);
}

interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Collects chunks until a whole frame is there; joins them only then, so large frames stay linear. */
class FrameReader {
  #chunks: Buffer[] = [];
  #length = 0;
  #needed = 2;

  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const frames: Frame[] = [];
    while (this.#length >= this.#needed) {
      const buffer = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
      const parsed = parseFrame(buffer);
      if ('needed' in parsed) {
        this.#chunks = [buffer];
        this.#needed = parsed.needed;
        continue;
      }
      frames.push(parsed.frame);
      const rest = buffer.subarray(parsed.size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      this.#needed = 2;
    }
    return frames;
  }
}

function parseFrame(buffer: Buffer): { frame: Frame; size: number } | { needed: number } {
  if (buffer.length < 2) return { needed: 2 };
  const first = buffer[0]!;
  const second = buffer[1]!;
  const fin = (first & 0x80) !== 0;
  const opcode = first & 0x0f;
  if ((first & 0x70) !== 0) throw new ProtocolError(1002, 'reserved bits set');
  if ((second & 0x80) === 0) throw new ProtocolError(1002, 'client frames must be masked');
  if (![0x0, 0x1, 0x2, 0x8, 0x9, 0xa].includes(opcode)) throw new ProtocolError(1002, 'unknown opcode');

  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return { needed: 4 };
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return { needed: 10 };
    const long = buffer.readBigUInt64BE(2);
    length = long > BigInt(maxPayload) ? Infinity : Number(long);
    offset = 10;
  }
  if (length > maxPayload) throw new ProtocolError(1009, 'message too big');
  if (opcode >= 0x8 && (length > 125 || !fin)) throw new ProtocolError(1002, 'bad control frame');

  const size = offset + 4 + length;
  if (buffer.length < size) return { needed: size };
  const mask = buffer.subarray(offset, offset + 4);
  const payload = Buffer.from(buffer.subarray(offset + 4, size));
  for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
  return { frame: { fin, opcode, payload }, size };
}

/** A server frame: never masked. */
function encodeFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([first, payload.length]);
  } else if (payload.length < 0x10000) {
    header = Buffer.from([first, 126, 0, 0]);
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}

await serve('echo', createEchoServer(), 8080);
