/**
 * The bad-input matrix for the activator's takeover ports: requests no
 * well-behaved client sends (framing, paths, hosts, upgrades, spoofed
 * headers), each carrying a probe mark (recording-pod.ts) so that where its
 * bytes end up can be checked, and a seeded generator of such requests for
 * the fuzz run. `expect` is what a sleeping namespace's port does with the
 * request: the activator answers it itself (with that status), or it is
 * held and, once the namespace is ready, spliced to the namespace's own pod
 * byte for byte (the pod answers as it will).
 */
import type { SeededRandom } from './seeded-random.js';

export interface Target {
  /** The probe mark this request carries. */
  readonly mark: string;
  /** Another namespace, and its activator port: what the request tries to reach instead. */
  readonly otherNamespace: string;
  readonly otherPort: number;
}

export type Expect = { readonly by: 'activator'; readonly status: number } | { readonly by: 'pod' };

export interface BadRequest {
  readonly group: 'framing' | 'path' | 'host' | 'upgrade' | 'spoofing';
  readonly name: string;
  readonly expect: Expect;
  /** The bytes; several chunks are written a few milliseconds apart. */
  bytes(target: Target): Buffer | Buffer[];
}

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const api = 'Accept: application/json\r\nUser-Agent: curl/8.5.0\r\n';
const browser =
  'Accept: text/html,application/xhtml+xml\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\n';
const otherHost = (t: Target): string => `web.${t.otherNamespace}.svc.cluster.local`;
const activator = (status: number): Expect => ({ by: 'activator', status });
const pod: Expect = { by: 'pod' };

/** A TLS 1.2 ClientHello record header and the start of its body (no real handshake). */
const clientHello = (mark: string): Buffer =>
  Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03]), b(mark)]);

export const BAD_REQUESTS: readonly BadRequest[] = [
  // Framing
  {
    group: 'framing',
    name: 'request line without HTTP version',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark}\r\nHost: web\r\n\r\n`),
  },
  {
    group: 'framing',
    name: 'two spaces after the method',
    expect: pod,
    bytes: (t) => b(`GET  /${t.mark} HTTP/1.1\r\nHost: web\r\n\r\n`),
  },
  {
    group: 'framing',
    name: 'HTTP/2.0 in an HTTP/1 request line',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/2.0\r\nHost: web\r\n\r\n`),
  },
  {
    group: 'framing',
    name: 'unknown method token',
    expect: pod,
    bytes: (t) => b(`FOO /${t.mark} HTTP/1.1\r\nHost: web\r\n\r\n`),
  },
  {
    group: 'framing',
    name: 'HTTP/1.9 version',
    expect: activator(400),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.9\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'obs-fold (folded header line)',
    expect: activator(400),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nX-Long: one\r\n  two\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'header line without a colon',
    expect: activator(400),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nNoColonHere\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'space before the colon',
    expect: activator(400),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost : web\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'NUL byte in a header value',
    expect: activator(400),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nX-Nul: a\x00b\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'NUL byte in the request target',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark}\x00 HTTP/1.1\r\nHost: web\r\n\r\n`),
  },
  {
    group: 'framing',
    name: 'bare LF line endings',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\nHost: web\n${api.replaceAll('\r\n', '\n')}\n`),
  },
  {
    group: 'framing',
    name: 'duplicate Content-Length (5 and 6)',
    expect: pod,
    bytes: (t) =>
      b(
        `POST /${t.mark} HTTP/1.1\r\nHost: web\r\n${api}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
      ),
  },
  {
    group: 'framing',
    name: 'Content-Length and Transfer-Encoding (smuggling)',
    expect: pod,
    bytes: (t) =>
      b(
        `POST /${t.mark} HTTP/1.1\r\nHost: web\r\n${api}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-${t.mark} HTTP/1.1\r\nHost: ${otherHost(t)}\r\n\r\n`,
      ),
  },
  {
    group: 'framing',
    name: 'bad chunk size',
    expect: pod,
    bytes: (t) =>
      b(
        `POST /${t.mark} HTTP/1.1\r\nHost: web\r\n${api}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
      ),
  },
  {
    group: 'framing',
    name: 'overlong header line (20 KiB)',
    expect: activator(431),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n${api}\r\n`),
  },
  {
    group: 'framing',
    name: 'too many headers (3,000, 15 KiB)',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\n${api}${'h:1\r\n'.repeat(3000)}\r\n`),
  },
  {
    group: 'framing',
    name: 'head over 16 KiB in small headers',
    expect: activator(431),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\n${api}${'h:1\r\n'.repeat(4000)}\r\n`),
  },
  {
    group: 'framing',
    name: 'head sent one byte at a time',
    expect: pod,
    bytes: (t) => [...b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\n\r\n`)].map((c) => Buffer.from([c])),
  },
  // Paths
  {
    group: 'path',
    name: 'dot-dot segments',
    expect: pod,
    bytes: (t) => b(`GET /../../etc/passwd?${t.mark} HTTP/1.1\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: '%2e%2e segments',
    expect: pod,
    bytes: (t) => b(`GET /%2e%2e/%2e%2e/etc/passwd?${t.mark} HTTP/1.1\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: '/_nozzle/../ out of the activator paths',
    expect: activator(404),
    bytes: (t) => b(`GET /_nozzle/../${t.mark} HTTP/1.1\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: '/_nozzle/status of this namespace',
    expect: activator(200),
    bytes: (t) => b(`GET /_nozzle/status?${t.mark} HTTP/1.1\r\nHost: ${otherHost(t)}\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: '/_nozzle/%2e%2e/ escaped',
    expect: activator(404),
    bytes: (t) => b(`GET /_nozzle/%2e%2e/x/${t.mark} HTTP/1.1\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: 'unknown /_nozzle/ path',
    expect: activator(404),
    bytes: (t) => b(`GET /_nozzle/admin?${t.mark} HTTP/1.1\r\nHost: web\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: 'POST /_nozzle/status',
    expect: activator(405),
    bytes: (t) =>
      b(`POST /_nozzle/status?${t.mark} HTTP/1.1\r\nHost: web\r\n${api}Content-Length: 0\r\n\r\n`),
  },
  {
    group: 'path',
    name: 'absolute-form URL of the other namespace',
    expect: pod,
    bytes: (t) => b(`GET http://${otherHost(t)}/${t.mark} HTTP/1.1\r\nHost: ${otherHost(t)}\r\n${api}\r\n`),
  },
  {
    group: 'path',
    name: "absolute-form URL of the other namespace's activator port",
    expect: pod,
    bytes: (t) =>
      b(
        `GET http://127.0.0.1:${t.otherPort}/${t.mark} HTTP/1.1\r\nHost: 127.0.0.1:${t.otherPort}\r\n${api}\r\n`,
      ),
  },
  {
    group: 'path',
    name: "CONNECT to the other namespace's activator port",
    expect: pod,
    bytes: (t) =>
      b(
        `CONNECT 127.0.0.1:${t.otherPort} HTTP/1.1\r\nHost: 127.0.0.1:${t.otherPort}\r\nX-Mark: ${t.mark}\r\n\r\n`,
      ),
  },
  {
    group: 'path',
    name: 'OPTIONS * (asterisk-form)',
    expect: pod,
    bytes: (t) => b(`OPTIONS * HTTP/1.1\r\nHost: web\r\nX-Mark: ${t.mark}\r\n\r\n`),
  },
  // Hosts
  {
    group: 'host',
    name: "Host of the other namespace's app",
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: ${otherHost(t)}\r\n${api}\r\n`),
  },
  {
    group: 'host',
    name: 'X-Forwarded-Host and Forwarded of the other namespace',
    expect: pod,
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nX-Forwarded-Host: ${otherHost(t)}\r\nForwarded: host=${otherHost(t)}\r\n${api}\r\n`,
      ),
  },
  {
    group: 'host',
    name: 'two Host headers',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nHost: ${otherHost(t)}\r\n${api}\r\n`),
  },
  {
    group: 'host',
    name: "browser navigation with the other namespace's Host",
    expect: activator(503),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: ${otherHost(t)}\r\n${browser}\r\n`),
  },
  // Upgrades and other protocols
  {
    group: 'upgrade',
    name: 'WebSocket upgrade',
    expect: pod,
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
  },
  {
    group: 'upgrade',
    name: 'Upgrade: h2c',
    expect: pod,
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`,
      ),
  },
  {
    group: 'upgrade',
    name: 'Upgrade to an unknown protocol',
    expect: pod,
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nUpgrade: x-tunnel/9, TLS/1.0\r\nConnection: Upgrade\r\n\r\n`,
      ),
  },
  {
    group: 'upgrade',
    name: 'HTTP/2 prior-knowledge preface',
    expect: pod,
    bytes: (t) => b(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${t.mark}`),
  },
  { group: 'upgrade', name: 'TLS ClientHello', expect: pod, bytes: (t) => clientHello(t.mark) },
  // Spoofed headers
  {
    group: 'spoofing',
    name: 'x-nozzle-activator on a request',
    expect: pod,
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nx-nozzle-activator: 1\r\n${api}\r\n`),
  },
  {
    group: 'spoofing',
    name: 'x-nozzle-namespace / x-nozzle-target of the other namespace',
    expect: pod,
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nx-nozzle-namespace: ${t.otherNamespace}\r\nx-nozzle-target: ${t.otherNamespace}/web/http\r\n${api}\r\n`,
      ),
  },
  {
    group: 'spoofing',
    name: 'forged x-nozzle-wake-token (verified wake off)',
    expect: activator(404),
    bytes: (t) =>
      b(
        `POST /_nozzle/wake?${t.mark} HTTP/1.1\r\nHost: web\r\nx-nozzle-wake-token: 9999999999999.forged\r\nContent-Length: 0\r\n\r\n`,
      ),
  },
  {
    group: 'spoofing',
    name: 'health-checker User-Agent (kube-probe)',
    expect: activator(200),
    bytes: (t) => b(`GET /${t.mark} HTTP/1.1\r\nHost: web\r\nUser-Agent: kube-probe/1.35\r\n\r\n`),
  },
  {
    group: 'spoofing',
    name: 'crawler User-Agent (Googlebot)',
    expect: activator(503),
    bytes: (t) =>
      b(
        `GET /${t.mark} HTTP/1.1\r\nHost: web\r\nUser-Agent: Mozilla/5.0 (compatible; Googlebot/2.1)\r\n\r\n`,
      ),
  },
];

// ------------------------------------------------------------------ fuzz

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
  'PRI',
  'get',
  'FOO',
  'G\x00T',
  '',
];
const TARGETS = [
  '/',
  '/_nozzle/status',
  '/_nozzle/',
  '/_nozzle/wake',
  '/_nozzle/../x',
  '/%2e%2e/%2e%2e/',
  '/../../etc/passwd',
  '*',
  'http://evil.example/',
  'https://[::1]:443/',
  'example.com:443',
  '//double',
  '/a?b=c#frag',
  '/\x7f',
  '',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.9', 'HTTP/2.0', 'HTTP/1.', 'http/1.1', ''];
const NAMES = [
  'Host',
  'Accept',
  'User-Agent',
  'Content-Length',
  'Transfer-Encoding',
  'Upgrade',
  'Connection',
  'X-Forwarded-Host',
  'x-nozzle-activator',
  'x-nozzle-wake-token',
  'Cookie',
  'Expect',
  'Sec-WebSocket-Key',
  'X-Junk',
];
const VALUES = [
  'text/html',
  '*/*',
  'websocket',
  'h2c',
  'chunked',
  'chunked, identity',
  '0',
  '5',
  '-1',
  '99999999999999999999',
  'Googlebot/2.1',
  'kube-probe/1.35',
  'Mozilla/5.0',
  'upgrade',
  'close',
  '100-continue',
  'web.other.svc',
  '',
];
const SEPARATORS = ['\r\n', '\r\n', '\r\n', '\n', '\r', '\r\n '];
const JUNK = ' \t\x00\x01\x1b\x7f\xff:;,"\\/%?#@[]{}<>=';

/** One generated request: mostly near-HTTP, sometimes raw bytes. Carries `mark` (where its bytes go is checked). */
export function generatedRequest(random: SeededRandom, mark: string): Buffer {
  if (random.chance(0.05)) return Buffer.concat([random.bytes(random.int(1, 64)), b(mark)]);
  const sep = (): string => (random.chance(0.9) ? '\r\n' : random.pick(SEPARATORS));
  const junk = (n: number): string => random.string(n, JUNK + 'abcXYZ019');
  const method = random.chance(0.8) ? random.pick(METHODS.slice(0, 6)) : random.pick(METHODS);
  let target = random.pick(TARGETS);
  target += (target.includes('?') ? '&' : '?') + mark;
  if (random.chance(0.1)) target += junk(random.int(1, 8));
  const version = random.chance(0.85) ? 'HTTP/1.1' : random.pick(VERSIONS);
  const space = random.chance(0.95) ? ' ' : random.pick(['  ', '\t', '']);
  let head = `${method}${space}${target}${space}${version}${sep()}`;
  const count = random.chance(0.02) ? random.int(500, 5000) : random.int(0, 8);
  for (let i = 0; i < count; i++) {
    const name = random.chance(0.9) ? random.pick(NAMES) : junk(random.int(0, 6));
    const value = random.chance(0.85) ? random.pick(VALUES) : junk(random.int(0, 40));
    const colon = random.chance(0.97) ? ': ' : random.pick([':', ' : ', '', '::']);
    head += `${name}${colon}${value}${sep()}`;
  }
  if (random.chance(0.03)) head += `X-Big: ${'a'.repeat(random.int(4_000, 40_000))}\r\n`;
  if (random.chance(0.95)) head += sep();
  const body = random.chance(0.2) ? junk(random.int(0, 200)) : '';
  return b(head + body);
}
