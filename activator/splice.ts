/**
 * Bytes both ways between a client connection and an upstream one, for what
 * the activator does not parse (TLS, HTTP/2, gRPC, databases, raw TCP): the
 * sniffed bytes first, then `pipe` each way (its backpressure: a slow reader
 * pauses the other side). A FIN is passed on as a FIN (half-close), an error
 * on one side resets the other, and the promise settles once both are closed.
 */
import type { Socket } from 'node:net';

export interface SpliceOptions {
  /** Bytes already read from the client (the sniffed prefix): written to the upstream before anything else. */
  readonly head?: Buffer;
  /** Closes both sides after this long without a byte either way (default: never). */
  readonly idleTimeoutMs?: number;
  /** Closes both sides (a shutdown past its deadline). */
  readonly signal?: AbortSignal;
}

export type SpliceEnd =
  /** Both sides closed after a FIN each way. */
  | 'done'
  | 'client-error'
  | 'upstream-error'
  | 'idle-timeout'
  /** The signal fired, or a side was destroyed from outside. */
  | 'aborted';

export interface SpliceResult {
  readonly end: SpliceEnd;
  readonly error?: Error;
  /** Bytes read from the client, the head included (passed to the upstream unless the splice broke first). */
  readonly clientBytes: number;
  /** Bytes read from the upstream. */
  readonly upstreamBytes: number;
}

/** Splices `client` to `upstream` (which may still be connecting); never rejects. */
export function splice(client: Socket, upstream: Socket, options: SpliceOptions = {}): Promise<SpliceResult> {
  const head = options.head ?? Buffer.alloc(0);
  const clientStart = client.bytesRead;
  const upstreamStart = upstream.bytesRead;
  // Without it a FIN from one side would end the other's writing too (Node's
  // default), cutting off an answer still on its way.
  client.allowHalfOpen = true;
  upstream.allowHalfOpen = true;

  return new Promise((resolve) => {
    let end: SpliceEnd | undefined;
    let error: Error | undefined;
    let open = 2;

    const stop = (why: SpliceEnd, err?: Error): void => {
      if (end === undefined) {
        end = why;
        error = err;
      }
      // A failure is passed on as a reset, not as a FIN the other side could take for a clean end.
      const failed = why === 'client-error' || why === 'upstream-error';
      for (const socket of [client, upstream]) if (!socket.destroyed) close(socket, failed);
    };
    const onAbort = (): void => stop('aborted');

    const watch = (socket: Socket, side: 'client' | 'upstream'): void => {
      socket.on('error', (err) => stop(`${side}-error`, err));
      if (options.idleTimeoutMs !== undefined) {
        socket.setTimeout(options.idleTimeoutMs);
        socket.on('timeout', () => stop('idle-timeout'));
      }
      const onClose = (): void => {
        if (!(socket.readableEnded && socket.writableFinished)) stop('aborted');
        if (--open > 0) return;
        options.signal?.removeEventListener('abort', onAbort);
        resolve({
          end: end ?? 'done',
          ...(error ? { error } : {}),
          clientBytes: head.length + client.bytesRead - clientStart,
          upstreamBytes: upstream.bytesRead - upstreamStart,
        });
      };
      if (socket.closed) queueMicrotask(onClose);
      else socket.once('close', onClose);
    };
    watch(client, 'client');
    watch(upstream, 'upstream');

    if (options.signal?.aborted) return stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (client.destroyed || upstream.destroyed) return stop('aborted');

    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

function close(socket: Socket, reset: boolean): void {
  if (!reset) return void socket.destroy();
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // not a TCP handle
  }
}
