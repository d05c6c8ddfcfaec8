/**
 * The rest of an HTTP/1.x request head, once sniff.ts has said `http1`: read
 * up to the blank line (at most MAX_HEAD_BYTES, within the header timeout)
 * and parse what the activator decides on. Every byte read is kept, in order,
 * for the page server's replay or the splice: a request is never
 * re-serialized, and once spliced it is never parsed again.
 */
import type { Socket } from 'node:net';

export interface RequestHead {
  readonly method: string;
  /** The request target as sent: origin-form, absolute-form, authority-form or `*`. */
  readonly target: string;
  /** The target's path, without the query (`*` and authority-form have none: ''). */
  readonly path: string;
  /** `1.0` or `1.1`. */
  readonly version: string;
  /** Lower-case names; a repeated header's values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
}

export type HeadProblem =
  /** Not a valid HTTP/1.x head: 400. */
  | 'malformed'
  /** No end within MAX_HEAD_BYTES: 431. */
  | 'too-large'
  /** Not complete within the header timeout: 408. */
  | 'timeout'
  /** The client went away first: nothing to answer. */
  | 'closed';

export type HeadResult =
  | { readonly ok: true; readonly head: RequestHead; readonly bytes: Buffer }
  | { readonly ok: false; readonly problem: HeadProblem; readonly reason: string; readonly bytes: Buffer };

export const MAX_HEAD_BYTES = 16 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/**
 * Reads from `socket` (paused, as sniff left it) until the head is complete,
 * `sniffed` first. Never rejects; leaves the socket paused with every byte in
 * the result (body bytes that came with the head included).
 */
export function readRequestHead(
  socket: Socket,
  sniffed: Buffer,
  options: { readonly timeoutMs: number; readonly maxBytes?: number },
): Promise<HeadResult> {
  const maxBytes = options.maxBytes ?? MAX_HEAD_BYTES;
  const chunks: Buffer[] = [sniffed];
  let length = sniffed.length;
  const bytes = (): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
  const verdict = (): HeadResult | undefined => {
    const all = bytes();
    const end = headEnd(all);
    if (end === undefined) {
      if (length < maxBytes) return undefined;
      return {
        ok: false,
        problem: 'too-large',
        reason: `the request head is over ${maxBytes} bytes`,
        bytes: all,
      };
    }
    if (end > maxBytes) {
      return {
        ok: false,
        problem: 'too-large',
        reason: `the request head is over ${maxBytes} bytes`,
        bytes: all,
      };
    }
    const head = parseRequestHead(all.subarray(0, end));
    return typeof head === 'string'
      ? { ok: false, problem: 'malformed', reason: head, bytes: all }
      : { ok: true, head, bytes: all };
  };
  const first = verdict();
  if (first) return Promise.resolve(first);
  if (socket.destroyed || socket.readableEnded) {
    return Promise.resolve({ ok: false, problem: 'closed', reason: 'the client closed', bytes: bytes() });
  }
  return new Promise((resolve) => {
    const settle = (result: HeadResult): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const result = verdict();
      if (result) settle(result);
    };
    const onEnd = (): void =>
      settle({ ok: false, problem: 'closed', reason: 'the client closed mid-head', bytes: bytes() });
    const timer = setTimeout(
      () =>
        settle({
          ok: false,
          problem: 'timeout',
          reason: `the request head was not complete within ${options.timeoutMs} ms`,
          bytes: bytes(),
        }),
      options.timeoutMs,
    );
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).resume();
  });
}

/** Where the head ends (just past its blank line), or undefined when it has not yet. */
function headEnd(b: Buffer): number | undefined {
  let start = 0;
  while (start < b.length && (b[start] === 0x0d || b[start] === 0x0a)) start++; // empty lines before the request line
  const crlf = b.indexOf(CRLFCRLF, start);
  const lf = b.indexOf(LFLF, start);
  const ends = [crlf >= 0 ? crlf + 4 : Infinity, lf >= 0 ? lf + 2 : Infinity];
  const end = Math.min(...ends);
  return end === Infinity ? undefined : end;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(1\.[01])$/;
// Field values: visible ASCII, obs-text, spaces and tabs (RFC 9110 5.5); no other control byte.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Pure: a complete head (up to and including its blank line), or why it is not a valid one. */
export function parseRequestHead(raw: Buffer): RequestHead | string {
  const lines = raw
    .toString('latin1')
    .replace(/^[\r\n]+/, '')
    .split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
  if (!requestLine) return `invalid request line ${JSON.stringify((lines[0] ?? '').slice(0, 100))}`;
  const [, method, target, version] = requestLine as unknown as [string, string, string, string];
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return 'obsolete line folding in the header section';
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) return `invalid header line ${JSON.stringify(line.slice(0, 100))}`;
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) return `invalid characters in header ${name}`;
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  const path = targetPath(target);
  if (path === undefined) return `invalid request target ${JSON.stringify(target.slice(0, 100))}`;
  return { method, target, path, version, headers };
}

/**
 * The path of a request target, as the decision reads it (dot segments kept:
 * `/_nozzle/../x` is under the activator's paths), undefined when invalid.
 */
export function targetPath(target: string): string | undefined {
  if (target.startsWith('/')) return target.split('?')[0];
  if (target === '*') return '';
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      return undefined;
    }
  }
  return /^[^/?#@\s]+:\d+$/.test(target) ? '' : undefined; // authority-form (CONNECT)
}
