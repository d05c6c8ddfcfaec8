/**
 * The activator's node:http server: every request and upgrade goes through
 * the RequestHandler; shutdown stops accepting connections, lets held and
 * in-flight requests finish until a deadline, then closes what is left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/log.js';
import type { RequestHandler } from './handler.js';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** Upper bound on receiving a whole request; held requests do not read their body, so it covers the hold too. */
  readonly requestTimeoutMs: number;
}

export class ActivatorServer {
  private readonly server: Server;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly upgraded = new Set<Duplex>();

  constructor(
    private readonly handler: RequestHandler,
    private readonly log: Logger,
    private readonly options: ServerOptions,
  ) {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.requestTimeout = options.requestTimeoutMs;
    this.server.headersTimeout = 60_000;
    // Longer than the idle timeout of ingress controllers' upstream keep-alive
    // (60 s in ingress-nginx) so they never send on a connection we just closed.
    this.server.keepAliveTimeout = 65_000;
  }

  private bound: AddressInfo | undefined;

  async listen(): Promise<AddressInfo> {
    this.server.listen(this.options.port, this.options.host);
    await once(this.server, 'listening');
    this.bound = this.server.address() as AddressInfo;
    return this.bound;
  }

  /** Where it listens (or listened, after shutdown). */
  get address(): AddressInfo {
    if (!this.bound) throw new Error('the activator server is not listening');
    return this.bound;
  }

  /** Requests being held or forwarded right now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Stops accepting, waits up to `deadlineMs` for held and in-flight requests,
   * then closes every connection that is left (upgraded ones included).
   * Resolves to the number of requests cut off.
   */
  async shutdown(deadlineMs: number): Promise<number> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      const timer = new AbortController();
      await Promise.race([
        drained,
        sleep(deadlineMs, undefined, { signal: timer.signal }).catch(() => undefined),
      ]);
      timer.abort();
    }
    const cut = this.inFlight;
    if (cut > 0)
      this.log.warn(
        { requests: cut },
        'shutdown deadline reached; closing connections with requests in flight',
      );
    this.server.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
    await closed;
    return cut;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.track(
      this.handler.handle(req, res).catch((err: unknown) => {
        this.log.error({ err }, 'request failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end('{"error":"internal"}\n');
        } else res.destroy();
      }),
      res,
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    this.track(
      this.handler.handleUpgrade(req, socket, head).catch((err: unknown) => {
        this.log.error({ err }, 'upgrade failed');
        socket.destroy();
      }),
    );
  }

  /** Counts a request until its handler is done and (for a response) its last byte is written. */
  private track(work: Promise<void>, res?: ServerResponse): void {
    this.inFlight++;
    const finished = res
      ? Promise.all([
          work,
          res.writableFinished || res.destroyed ? undefined : once(res, 'close').catch(() => undefined),
        ])
      : work;
    void finished.finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    });
  }
}
