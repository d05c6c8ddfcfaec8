/**
 * What a new connection speaks, from its first bytes: an HTTP/1.x request
 * line, the HTTP/2 prior-knowledge preface, a TLS handshake, anything else,
 * nothing before the peer closed (a TCP health check), nothing for a while
 * (a server-speaks-first protocol), or the beginning of an opening that did
 * not end within the deadline (slowloris: `slow`, to be closed). Every byte read is returned, so that it
 * can be replayed: `socket.unshift(bytes)` before handing the socket to
 * Node's HTTP server, or written to the upstream first on a splice.
 */
import { METHODS } from 'node:http';
import type { Server, Socket } from 'node:net';

export type ConnectionKind =
  | 'http1'
  | 'http2-prior-knowledge'
  | 'tls'
  | 'other'
  /** The peer closed (or reset) without sending a byte: must not start a wake. */
  | 'closed-silent'
  /** Open, nothing sent within the silent delay: the server is expected to speak first. */
  | 'silent'
  /**
   * Still open at the deadline with bytes that began an HTTP/1 request line,
   * the HTTP/2 preface or a TLS record without finishing it: a slowloris,
   * never held.
   */
  | 'slow';

export interface SniffOptions {
  /** How long a connection may stay open without sending before it counts as `silent` (default 250 ms). */
  readonly silentDelayMs?: number;
  /** Undecided bytes past this many are `other` (default 8 KiB: the longest request line taken as HTTP). */
  readonly maxPrefixBytes?: number;
  /** A connection still undecided this long after the sniff began is `slow` (`silent` when it sent nothing; default 5 s). */
  readonly deadlineMs?: number;
}

export interface Sniffed {
  readonly kind: ConnectionKind;
  /** Every byte read, in order: at most `maxPrefixBytes` plus one read from the socket. */
  readonly bytes: Buffer;
}

export const DEFAULT_SILENT_DELAY_MS = 250;
export const DEFAULT_MAX_PREFIX_BYTES = 8 * 1024;
export const DEFAULT_DEADLINE_MS = 5_000;

/**
 * Reads from `socket` until its first bytes decide what it speaks. Never
 * rejects. On return the socket is paused and keeps an error listener that
 * ignores errors (its 'close' still tells), so that nothing is lost or thrown
 * before the caller takes it over.
 */
export function sniff(socket: Socket, options: SniffOptions = {}): Promise<Sniffed> {
  const maxPrefix = options.maxPrefixBytes ?? DEFAULT_MAX_PREFIX_BYTES;
  socket.on('error', ignore);
  if (socket.destroyed || socket.readableEnded) {
    return Promise.resolve({ kind: 'closed-silent', bytes: Buffer.alloc(0) });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const bytes = (): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    const decided = (kind: ConnectionKind): void => {
      clearTimeout(silentTimer);
      clearTimeout(deadlineTimer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve({ kind, bytes: bytes() });
    };
    // The peer is gone or out of time: what it sent so far is all there is.
    const onEnd = (): void => decided(length === 0 ? 'closed-silent' : finalKind(bytes(), maxPrefix));
    // Undecided at the deadline: every byte so far began a known opening, which never ended.
    const onDeadline = (): void => decided(length === 0 ? 'silent' : 'slow');
    const onData = (chunk: Buffer): void => {
      clearTimeout(silentTimer);
      chunks.push(chunk);
      length += chunk.length;
      const kind = classify(bytes(), maxPrefix);
      if (kind !== undefined) decided(kind);
    };
    const silentTimer = setTimeout(
      () => length === 0 && decided('silent'),
      options.silentDelayMs ?? DEFAULT_SILENT_DELAY_MS,
    );
    const deadlineTimer = setTimeout(onDeadline, options.deadlineMs ?? DEFAULT_DEADLINE_MS);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

function ignore(): void {}

/**
 * Hands a sniffed connection to a node:http server as if just accepted, its
 * sniffed bytes first. Synchronously: node:http then reads the socket's
 * handle directly, so the replayed bytes must be queued before it starts.
 */
export function replayToHttpServer(server: Server, socket: Socket, bytes: Buffer): void {
  if (bytes.length > 0) socket.unshift(bytes);
  server.emit('connection', socket);
  socket.resume(); // sniff left it paused, and node:http does not resume it
}

/** `classify` for a prefix that will not grow: undecided is `other`. */
export function finalKind(prefix: Buffer, maxPrefixBytes = DEFAULT_MAX_PREFIX_BYTES): ConnectionKind {
  return classify(prefix, maxPrefixBytes) ?? 'other';
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const VERSION = Buffer.from('HTTP/1.', 'latin1');
// Only methods Node's parser accepts: a request it would refuse with 400 is
// better spliced to the backend, which may know the method.
const METHOD_TOKENS = METHODS.map((m) => Buffer.from(`${m} `, 'latin1'));
const TLS_HANDSHAKE = 0x16;
const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The kind `prefix` (the first bytes of a connection) decides, or undefined
 * when more bytes are needed. Only the first `maxPrefixBytes` count: an HTTP
 * request line must end within them, and with that many it always decides.
 */
export function classify(
  prefix: Buffer,
  maxPrefixBytes = DEFAULT_MAX_PREFIX_BYTES,
): 'http1' | 'http2-prior-knowledge' | 'tls' | 'other' | undefined {
  if (prefix.length === 0) return undefined;
  const b = prefix.length > maxPrefixBytes ? prefix.subarray(0, maxPrefixBytes) : prefix;
  const kind = tls(b) ?? http2(b) ?? http1(b);
  if (kind === 'more') return b.length >= maxPrefixBytes ? 'other' : undefined;
  return kind;
}

type Verdict = 'http1' | 'http2-prior-knowledge' | 'tls' | 'other' | 'more';

/** A TLS record header: content type handshake (0x16), version 0x03 0x0?. */
function tls(b: Buffer): Verdict | undefined {
  if (b[0] !== TLS_HANDSHAKE) return undefined;
  if (b.length < 2) return 'more';
  if (b[1] !== 0x03) return 'other';
  if (b.length < 3) return 'more';
  return b[2]! < 0x10 ? 'tls' : 'other';
}

function http2(b: Buffer): Verdict | undefined {
  const n = Math.min(b.length, PREFACE.length);
  if (b.compare(PREFACE, 0, n, 0, n) !== 0) return undefined;
  return n === PREFACE.length ? 'http2-prior-knowledge' : 'more';
}

/** `METHOD SP request-target SP HTTP/1.<digit>`, after any empty lines (which parsers skip). */
function http1(b: Buffer): Verdict {
  let i = 0;
  while (i < b.length && (b[i] === CR || b[i] === LF)) i++;
  if (i === b.length) return 'more';

  const rest = b.length - i;
  const method = METHOD_TOKENS.find((m) => {
    const n = Math.min(m.length, rest);
    return b.compare(m, 0, n, i, i + n) === 0;
  });
  if (!method) return 'other';
  if (rest < method.length) return 'more';
  i += method.length;

  const targetStart = i;
  while (i < b.length && b[i] !== SP) {
    const c = b[i]!;
    if (c < SP || c === 0x7f) return 'other';
    i++;
  }
  if (i === b.length) return 'more';
  if (i === targetStart) return 'other';
  i++;

  const n = Math.min(VERSION.length, b.length - i);
  if (b.compare(VERSION, 0, n, i, i + n) !== 0) return 'other';
  if (n < VERSION.length) return 'more';
  i += n;
  if (i === b.length) return 'more';
  const digit = b[i]!;
  return digit >= 0x30 && digit <= 0x39 ? 'http1' : 'other';
}
