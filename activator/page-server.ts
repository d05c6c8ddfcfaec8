/**
 * The activator's own HTTP answers on a takeover port: the waiting page for a
 * browser navigation (starting the namespace's wake) and `/_nozzle/status`
 * of the port's namespace only. With a verified wake (NOZZLE_VERIFIED_WAKE)
 * the page starts nothing: it carries a signed token (wake-token.ts) that its
 * script sends back to `POST /_nozzle/wake`, which starts the wake; status
 * polls then never start one. A wake refused by a rate limit starts nothing
 * either: the page (already 503) says when to retry. A node:http Server that never listens: the
 * connection pipeline hands it sniffed connections with their bytes replayed
 * (sniff.ts replayToHttpServer). Every answer has `Connection: close`: the
 * next request opens a new connection, which reaches the app once it runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ACTIVATOR_PREFIX } from '../lib/names.js';
import type { PortTarget } from '../lib/takeover/port-assignment.js';
import { REFRESH_SECONDS } from '../rescaler-web/page.js';
import type { EndpointIndex } from './endpoint-index.js';
import { answer } from './http-answer.js';
import { sendJson, sendWaitingPage } from './responses.js';
import { targetPath } from './request-head.js';
import { replayToHttpServer } from './sniff.js';
import { wakeStatus } from './status.js';
import { WakeRefused } from './wake-limits.js';
import { issueWakeToken, verifyWakeToken } from './wake-token.js';
import type { DataPathWake, Wakes } from './waker.js';

export const STATUS_PATH = `${ACTIVATOR_PREFIX}status`;
export const WAKE_PATH = `${ACTIVATOR_PREFIX}wake`;
/** The request header that carries the verified wake's token (a custom header: no cross-site form can send it). */
export const WAKE_TOKEN_HEADER = 'x-nozzle-wake-token';

export interface PageServerDeps {
  readonly index: Pick<EndpointIndex, 'hasOwnReady'>;
  readonly wakes: Wakes;
  readonly readinessTimeoutMs: number;
  /** The verified wake's secret (NOZZLE_WAKE_SECRET) when NOZZLE_VERIFIED_WAKE is on; absent: browsers wake at once. */
  readonly verifiedWakeSecret?: string;
}

export class PageServer {
  private readonly server: Server;
  private readonly targets = new WeakMap<Socket, PortTarget>();

  constructor(private readonly deps: PageServerDeps) {
    // No Host is needed: the port names the namespace (node:http would answer a bare 400 of its own).
    this.server = createServer({ requireHostHeader: false }, (req, res) => this.onRequest(req, res));
    // What request-head.ts let through but node:http refuses (a duplicate
    // Content-Length, a bad chunk size) and CONNECT: answered as the
    // activator's own (JSON, x-nozzle-activator), never a bare reset or a
    // 400 the waiting page would take for the app's.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
      answer(socket, 400, {
        error: 'bad_request',
        message: `the request could not be parsed${err.code ? ` (${err.code})` : ''}`,
      });
    });
    // An Expect other than 100-continue: node:http would answer a bare 417 of its own.
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
      sendJson(res, 417, {
        error: 'expectation_failed',
        message: `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported`,
      }),
    );
    this.server.on('connect', (_req: IncomingMessage, socket: Socket) =>
      answer(socket, 405, { error: 'method_not_allowed', message: 'CONNECT is not served here' }),
    );
  }

  /** Answers the connection's request (`bytes` are what was read of it); resolves when the connection is closed. */
  serve(socket: Socket, bytes: Buffer, target: PortTarget): Promise<void> {
    this.targets.set(socket, target);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    replayToHttpServer(this.server, socket, bytes);
    return closed;
  }

  /** Closes every connection it serves (shutdown past its deadline). */
  close(): void {
    this.server.closeAllConnections();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = this.targets.get(req.socket);
    if (!target) return void res.destroy();
    const { index, wakes, readinessTimeoutMs, verifiedWakeSecret: secret } = this.deps;
    const { namespace, service } = target;
    const ready = index.hasOwnReady(namespace, service);
    const host = hostName(req.headers.host) || `${service}.${namespace}`;
    // The path the decision read (connection.ts): a target it sent here as the
    // activator's own stays so, dot segments and all.
    const path = targetPath(req.url ?? '/') ?? '';
    const status = (wake: DataPathWake | undefined) =>
      wakeStatus({ namespace, host, wake, ready, timeoutMs: readinessTimeoutMs });
    if (!path.startsWith(ACTIVATOR_PREFIX)) {
      // A browser navigation (connection.ts sends nothing else here).
      const current = wakes.get(namespace);
      if (secret !== undefined && !ready && current?.state !== 'waking') {
        // Verified wake: the page asks the browser to confirm; nothing starts yet.
        return sendWaitingPage(res, status(current), REFRESH_SECONDS, issueWakeToken(secret, namespace));
      }
      const started = this.start(namespace, { retryFailed: true });
      return sendWaitingPage(res, status(started.wake), Math.max(REFRESH_SECONDS, started.retryAfterSeconds));
    }
    if (path === WAKE_PATH && secret !== undefined)
      return this.verifiedWake(req, res, secret, target, status);
    if (path !== STATUS_PATH) {
      return sendJson(res, 404, { error: 'not_found', message: `${path} is not an activator path` });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method_not_allowed', message: `${STATUS_PATH} takes GET` });
    }
    // A poll starts a wake nobody started (the page was served by another
    // replica, or before a restart) but does not retry a failed one; with a
    // verified wake, only /_nozzle/wake starts one.
    const wake =
      ready || secret !== undefined
        ? wakes.get(namespace)
        : this.start(namespace, { retryFailed: false }).wake;
    sendJson(res, 200, status(wake));
  }

  /** `POST /_nozzle/wake` with the page's token: starts the wake (202), or says why not (403, 503). */
  private verifiedWake(
    req: IncomingMessage,
    res: ServerResponse,
    secret: string,
    target: PortTarget,
    status: (wake: DataPathWake | undefined) => object,
  ): void {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendJson(res, 405, { error: 'method_not_allowed', message: `${WAKE_PATH} takes POST` });
    }
    const token = req.headers[WAKE_TOKEN_HEADER];
    if (!verifyWakeToken(secret, target.namespace, typeof token === 'string' ? token : undefined)) {
      return sendJson(res, 403, {
        error: 'invalid_token',
        message: 'the wake token is missing, expired or not for this app; reload the page',
      });
    }
    const started = this.start(target.namespace, { retryFailed: true });
    if (started.retryAfterSeconds > 0) {
      res.setHeader('retry-after', String(started.retryAfterSeconds));
      return sendJson(res, 503, {
        error: 'wake_limit',
        message: 'the app cannot be woken right now; retry later',
      });
    }
    sendJson(res, 202, status(started.wake));
  }

  /** Starts or joins the namespace's wake; a refusal (rate limit, shutdown) starts nothing and says when to retry. */
  private start(
    namespace: string,
    options: { retryFailed: boolean },
  ): { wake: DataPathWake | undefined; retryAfterSeconds: number } {
    const { wakes } = this.deps;
    try {
      return { wake: wakes.wake(namespace, options), retryAfterSeconds: 0 };
    } catch (err) {
      const retryAfterMs = err instanceof WakeRefused ? err.retryAfterMs : REFRESH_SECONDS * 1000;
      return { wake: wakes.get(namespace), retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    }
  }
}

/** The Host header without its port, lower-cased: what the page names (it routes nothing). */
export function hostName(header: string | undefined): string {
  const host = (header ?? '').trim().toLowerCase();
  const port = /:\d*$/.exec(host);
  return port && !host.endsWith(']') ? host.slice(0, port.index) : host;
}
