/**
 * One request as raw bytes over a fresh TCP connection, and what came back:
 * the status line, whether the activator answered (its `x-nozzle-activator`
 * header) or a pod, the body, and how long it took. For inputs no HTTP
 * client would send (bad framing, NUL bytes, smuggling), so node:net only.
 */
import { connect } from 'node:net';

export interface Exchange {
  /** The status code, or undefined when the connection closed without an HTTP answer. */
  readonly status: number | undefined;
  /** Answered by the activator itself (not spliced to a pod). */
  readonly activator: boolean;
  readonly head: string;
  readonly body: string;
  /** From connect to the first byte of the answer, or to the close when there was none. */
  readonly ms: number;
  /** The client stopped waiting (`timeoutMs`) before the connection closed. */
  readonly timedOut: boolean;
}

/**
 * Sends `bytes` (each chunk of an array written `gapMs` apart) to
 * 127.0.0.1:`port` and reads until the peer closes, `idleMs` of silence after
 * an answer began, or `timeoutMs`.
 */
export async function exchange(
  port: number,
  bytes: Buffer | readonly Buffer[],
  options: { timeoutMs?: number; idleMs?: number; gapMs?: number } = {},
): Promise<Exchange> {
  const { timeoutMs = 15_000, idleMs = 500, gapMs = 0 } = options;
  const started = performance.now();
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: false });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let firstByteMs: number | undefined;
  let timedOut = false;
  await new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(overall);
      clearTimeout(idle);
      socket.destroy();
      resolve();
    };
    const overall = setTimeout(() => ((timedOut = true), done()), timeoutMs);
    socket.on('data', (c: Buffer) => {
      firstByteMs ??= performance.now() - started;
      chunks.push(c);
      clearTimeout(idle);
      idle = setTimeout(done, idleMs);
    });
    socket.once('close', done);
    socket.once('connect', () => {
      const parts = Buffer.isBuffer(bytes) ? [bytes] : bytes;
      void (async () => {
        for (const [i, part] of parts.entries()) {
          if (socket.destroyed) return;
          if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
          socket.write(part);
        }
      })();
    });
  });
  // An interim 100 Continue (node:http sends it for `Expect: 100-continue`) is not the answer.
  const text = Buffer.concat(chunks)
    .toString('latin1')
    .replace(/^(HTTP\/1\.[01] 1(?!01)\d\d[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n)+/, '');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
  return {
    status: status === undefined ? undefined : Number(status),
    activator: /^x-nozzle-activator:\s*1\s*$/im.test(head),
    head,
    body: split < 0 ? '' : text.slice(split + 4),
    ms: firstByteMs ?? performance.now() - started,
    timedOut,
  };
}
