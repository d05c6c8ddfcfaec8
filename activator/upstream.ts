/**
 * Forwarding to a backend: one undici connection pool per origin, request
 * and response bodies streamed both ways (never buffered whole), the
 * upstream request aborted the moment the client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, errors } from 'undici';
import { COLD_START_HEADER, forwardResponseHeaders, type HeaderMap } from './headers.js';
import { Backoff } from '../lib/backoff.js';

export interface UpstreamOptions {
  /** Most connections per origin. */
  readonly connections: number;
  /** Response-headers timeout and the longest pause between body chunks. */
  readonly timeoutMs: number;
  /**
   * A backend that just became Ready may refuse connections for a moment
   * (kube-proxy programs the Service after the EndpointSlice changes): a
   * cold-start request whose body has not been read yet is retried on
   * ECONNREFUSED for this long.
   */
  readonly connectRetryMs?: number;
}

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    /** 502: the backend could not be reached or broke the response; 504: it did not answer in time. */
    readonly status: 502 | 504,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The client went away: nothing to answer. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

export interface ForwardRequest {
  readonly origin: string;
  readonly pathAndQuery: string;
  readonly headers: HeaderMap;
  /** The request waited for a wake: retry refused connections, mark the response. */
  readonly coldStart: boolean;
}

export class Upstreams {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: UpstreamOptions) {}

  pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        keepAliveTimeout: 4_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Forwards `req` and streams the answer into `res`. Resolves to the status
   * sent; rejects with UpstreamError (nothing sent yet, the caller answers),
   * ClientGoneError, or another error after the response had begun (then
   * `res` has been destroyed).
   */
  async forward(req: IncomingMessage, res: ServerResponse, target: ForwardRequest): Promise<number> {
    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new ClientGoneError('the client closed the connection'));
    };
    res.once('close', onClose);
    const hasBody = requestHasBody(req);
    const retryUntil = target.coldStart ? Date.now() + (this.options.connectRetryMs ?? 3_000) : 0;
    const backoff = new Backoff(25, 500);
    try {
      for (;;) {
        const body = hasBody ? new LazyBody(req) : null;
        let response;
        try {
          response = await this.pool(target.origin).request({
            path: target.pathAndQuery,
            method: req.method as 'GET',
            headers: target.headers,
            body,
            signal: controller.signal,
          });
        } catch (err) {
          if (controller.signal.aborted) throw new ClientGoneError('the client closed the connection');
          const delay = backoff.next();
          if (isRefused(err) && !body?.started && Date.now() + delay < retryUntil) {
            await sleep(delay, undefined, { signal: controller.signal }).catch(() => undefined);
            continue;
          }
          throw upstreamError(err, target.origin);
        }
        const headers = forwardResponseHeaders(response.headers);
        if (target.coldStart) headers[COLD_START_HEADER] = 'true';
        res.writeHead(response.statusCode, headers);
        await streamInto(response.body, res);
        return response.statusCode;
      }
    } finally {
      res.off('close', onClose);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }

  destroy(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}

/**
 * Pipes the backend's body into the response. (Not stream.pipeline: its
 * per-call AbortController and DOMException showed up as a tenth of the
 * activator's CPU under load.) Rejects with ClientGoneError when the client
 * leaves first (the backend body is destroyed, which aborts its request), or
 * with the backend's error (the response is destroyed: the client sees the
 * broken response as a closed connection).
 */
function streamInto(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    body.once('error', (err: Error) => {
      res.destroy();
      done(err);
    });
    res.once('finish', () => done());
    res.once('close', () => {
      if (res.writableFinished) return done();
      body.destroy();
      done(new ClientGoneError('the client closed the connection'));
    });
    body.pipe(res);
  });
}

function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function isRefused(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ECONNREFUSED';
}

function upstreamError(err: unknown, origin: string): UpstreamError {
  if (err instanceof errors.HeadersTimeoutError) {
    return new UpstreamError(`${origin} did not answer in time`, 504, { cause: err });
  }
  const code = (err as { code?: string } | null)?.code;
  const detail = err instanceof Error ? (code ? `${code} ${err.message}` : err.message) : String(err);
  return new UpstreamError(`${origin} could not be reached: ${detail}`, 502, { cause: err });
}

/**
 * The request body, read from the client only when undici starts sending
 * it. Until then `started` is false and a refused connection can be retried;
 * and when undici destroys the body after an error, the client's request (and
 * its socket) stays intact so the activator can still answer.
 */
class LazyBody extends Readable {
  started = false;
  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.source.pause();
  };
  private readonly onEnd = (): void => void this.push(null);
  private readonly onError = (err: Error): void => void this.destroy(err);

  constructor(private readonly source: IncomingMessage) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.source.on('data', this.onData);
      this.source.once('end', this.onEnd);
      this.source.once('error', this.onError);
      if (this.source.readableEnded) this.push(null);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.pause();
    callback(err);
  }
}
