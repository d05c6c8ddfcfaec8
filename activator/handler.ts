/**
 * The data path, one request at a time, as a short chain:
 *
 *   own paths (/healthz, /readyz, /metrics, /_nozzle/...)
 *   -> request target (Host or absolute-form URL)
 *   -> route (index: sleeping, or in its grace period; else 404)
 *   -> ready already? forward
 *   -> browser? the waiting page, at once
 *   -> hold (bounded) until the backend is Ready, then forward
 *
 * No body parser anywhere: bodies stream through untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.js';
import { ACTIVATOR_PREFIX } from '../lib/names.js';
import { handleHealth, type ReadinessCheck } from '../lib/observability/health.js';
import { REFRESH_SECONDS } from '../rescaler-web/page.js';
import { forwardRequestHeaders, type HeaderMap } from './headers.js';
import type { HoldSlots } from './holds.js';
import type { IngressIndex, RouteMatch } from './ingress-index.js';
import { statusClass, type ActivatorMetrics } from './metrics.js';
import {
  BadRequestTargetError,
  isBrowserRequest,
  requestTarget,
  type RequestTarget,
} from './request-target.js';
import { sendJson, sendNotFound, sendWaitingPage } from './responses.js';
import { normalizeHost, type Route } from './route-table.js';
import { wakeStatus } from './status.js';
import type { UpstreamAddresses } from './upstream-address.js';
import { forwardUpgrade, rawReply } from './upgrade.js';
import { ClientGoneError, UpstreamError, type Upstreams } from './upstream.js';
import { WakeAbortedError, WakeFailedError } from './wake.js';
import type { WakeCoordinator } from './wake-coordinator.js';
import { describeError } from '../lib/errors.js';

export const STATUS_PATH = `${ACTIVATOR_PREFIX}status`;

export interface HandlerDeps {
  readonly index: IngressIndex;
  readonly wakes: WakeCoordinator;
  readonly upstreams: Upstreams;
  readonly addresses: UpstreamAddresses;
  readonly holds: HoldSlots;
  readonly metrics: ActivatorMetrics;
  readonly registry: Registry;
  readonly readiness: ReadinessCheck;
  readonly log: Logger;
  readonly readinessTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly shuttingDown: () => boolean;
}

/**
 * The path of the page that polls /_nozzle/status: browsers send the page's
 * URL as Referer on same-origin fetches. `/` when there is none.
 */
function pagePath(req: IncomingMessage, host: string): string {
  const referer = req.headers.referer;
  if (!referer) return '/';
  try {
    const url = new URL(referer);
    return normalizeHost(url.host) === host ? url.pathname : '/';
  } catch {
    return '/';
  }
}

/** Where a held request is told its client went away. */
type Gone = { once(event: 'close', fn: () => void): unknown; off(event: 'close', fn: () => void): unknown };

export class RequestHandler {
  constructor(private readonly deps: HandlerDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.deps.shuttingDown()) res.setHeader('connection', 'close');
    if (req.url?.startsWith('/') && !req.url.startsWith(ACTIVATOR_PREFIX)) {
      const own = handleHealth(req, res, { readiness: this.deps.readiness, registry: this.deps.registry });
      if (await own) return;
    }
    const target = this.target(req);
    if (!target) {
      this.deps.metrics.reject('bad_request');
      return sendJson(res, 400, {
        error: 'bad_request',
        message: 'the request has no usable Host or target',
      });
    }
    if (target.path.startsWith(ACTIVATOR_PREFIX)) return this.own(req, res, target);

    const match = this.deps.index.match(target.host, target.path);
    if (!match) {
      this.deps.metrics.reject('unknown_host');
      return sendNotFound(req, res, target.host);
    }
    if (this.isReady(match)) return this.forward(req, res, target, match.route, false);
    if (isBrowserRequest(req)) {
      const wake = this.deps.wakes.wake(match.route.namespace, { retryFailed: true });
      const status = wakeStatus({ host: target.host, match, wake, timeoutMs: this.deps.readinessTimeoutMs });
      return sendWaitingPage(res, status, REFRESH_SECONDS);
    }
    if (!(await this.hold(req, res, match.route))) return;
    return this.forward(req, res, target, match.route, true);
  }

  /** WebSocket and other upgrades: the same chain on a raw socket. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const target = this.target(req);
    if (!target || target.path.startsWith(ACTIVATOR_PREFIX)) {
      this.deps.metrics.reject('bad_request');
      return rawReply(socket, 400, 'Bad Request', '{"error":"bad_request"}\n');
    }
    const match = this.deps.index.match(target.host, target.path);
    if (!match) {
      this.deps.metrics.reject('unknown_host');
      return rawReply(socket, 404, 'Not Found', '{"error":"not_found"}\n');
    }
    const cold = !this.isReady(match);
    if (cold && !(await this.hold(req, socket, match.route))) return;
    const route = match.route;
    let origin: string;
    try {
      origin = await this.deps.addresses.origin(route);
    } catch (err) {
      this.deps.metrics.reject('upstream_error');
      return rawReply(
        socket,
        502,
        'Bad Gateway',
        `${JSON.stringify({ error: 'upstream_error', message: describeError(err) })}\n`,
      );
    }
    const headers = this.upstreamHeaders(req, target, true);
    try {
      const status = await forwardUpgrade(req, socket, head, {
        origin,
        pathAndQuery: target.pathAndQuery,
        headers,
        coldStart: cold,
        timeoutMs: this.deps.upstreamTimeoutMs,
      });
      this.deps.metrics.forwarded.inc({ class: statusClass(status), cold_start: String(cold) });
    } catch (err) {
      this.deps.metrics.reject('upstream_error');
      this.deps.log.warn({ err, origin }, 'upgrade could not be forwarded');
      rawReply(
        socket,
        502,
        'Bad Gateway',
        `${JSON.stringify({ error: 'upstream_error', message: `${origin} could not be reached` })}\n`,
      );
    }
  }

  private target(req: IncomingMessage): RequestTarget | undefined {
    try {
      return requestTarget(req);
    } catch (err) {
      if (err instanceof BadRequestTargetError) return undefined;
      throw err;
    }
  }

  /** Forward without holding: a grace route, or a wake whose backend is already Ready. */
  private isReady(match: RouteMatch): boolean {
    if (match.state === 'grace') return true;
    const wake = this.deps.wakes.get(match.route.namespace);
    return wake?.state === 'ready'; // interim (issue 9): the data path asks the endpoint index
  }

  /** `/_nozzle/status`; nothing else under /_nozzle/ exists (the page inlines its assets). */
  private own(req: IncomingMessage, res: ServerResponse, target: RequestTarget): void {
    if (target.path !== STATUS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return sendJson(res, 404, { error: 'not_found', message: `${target.path} is not an activator path` });
    }
    const match = this.deps.index.statusRoute(target.host, pagePath(req, target.host));
    if (!match) {
      this.deps.metrics.reject('unknown_host');
      return sendJson(res, 404, { error: 'not_found', message: `nothing is served at ${target.host}` });
    }
    const namespace = match.route.namespace;
    // A status poll starts a wake nobody started (this replica restarted), but
    // does not retry a failed one: the page shows the failure until reloaded.
    const wake =
      match.state === 'sleeping'
        ? this.deps.wakes.wake(namespace, { retryFailed: false })
        : this.deps.wakes.get(namespace);
    sendJson(
      res,
      200,
      wakeStatus({ host: target.host, match, wake, timeoutMs: this.deps.readinessTimeoutMs }),
    );
  }

  /**
   * Waits, in a bounded slot, until the route's backend is Ready. Resolves to
   * true to forward; false when the request was answered (limit, timeout,
   * failure) or its client went away (the slot is freed at once).
   */
  private async hold(req: IncomingMessage, out: ServerResponse | Duplex, route: Route): Promise<boolean> {
    const { holds, metrics, wakes } = this.deps;
    const slot = holds.tryAcquire(route.namespace);
    if (!slot) {
      metrics.reject('hold_limit');
      this.answer(
        out,
        503,
        {
          error: 'hold_limit',
          message: `too many requests are waiting for ${route.namespace} to wake; retry later`,
        },
        {
          'retry-after': String(this.deps.retryAfterSeconds),
        },
      );
      return false;
    }
    const gone = new AbortController();
    const onClose = (): void => gone.abort(new ClientGoneError('the client went away while held'));
    (out as Gone).once('close', onClose);
    try {
      const wake = wakes.wake(route.namespace, { retryFailed: true });
      await wake.done; // interim (issue 9): the data path waits on the endpoint index
      if (wake.failure) throw wake.failure;
      return !gone.signal.aborted;
    } catch (err) {
      if (err instanceof ClientGoneError) return false;
      if (err instanceof WakeFailedError) {
        const timeout = err.reason === 'timeout';
        metrics.reject(timeout ? 'readiness_timeout' : 'wake_failed');
        this.answer(out, timeout ? 504 : 502, {
          error: timeout ? 'readiness_timeout' : 'wake_failed',
          namespace: route.namespace,
          message: err.message,
          notReady: err.notReady,
        });
        return false;
      }
      if (err instanceof WakeAbortedError) {
        metrics.reject('shutting_down');
        this.answer(
          out,
          503,
          { error: 'shutting_down', message: 'the activator is shutting down; retry' },
          {
            'retry-after': String(this.deps.retryAfterSeconds),
          },
        );
        return false;
      }
      throw err;
    } finally {
      slot.release();
      (out as Gone).off('close', onClose);
    }
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: RequestTarget,
    route: Route,
    coldStart: boolean,
  ): Promise<void> {
    const { metrics } = this.deps;
    let origin: string;
    try {
      origin = await this.deps.addresses.origin(route);
    } catch (err) {
      metrics.reject('upstream_error');
      return sendJson(res, 502, {
        error: 'upstream_error',
        message: describeError(err),
      });
    }
    try {
      const status = await this.deps.upstreams.forward(req, res, {
        origin,
        pathAndQuery: target.pathAndQuery,
        headers: this.upstreamHeaders(req, target, false),
        coldStart,
      });
      metrics.forwarded.inc({ class: statusClass(status), cold_start: String(coldStart) });
    } catch (err) {
      if (err instanceof ClientGoneError) return;
      if (err instanceof UpstreamError) {
        metrics.reject(err.status === 504 ? 'upstream_timeout' : 'upstream_error');
        this.deps.log.warn({ origin, status: err.status, err: err.message }, 'forwarding failed');
        return sendJson(res, err.status, {
          error: err.status === 504 ? 'upstream_timeout' : 'upstream_error',
          message: err.message,
        });
      }
      // The response had begun; the connection was closed to say it broke.
      metrics.reject('upstream_error');
      this.deps.log.warn({ origin, err }, 'the backend response broke off');
    }
  }

  private upstreamHeaders(req: IncomingMessage, target: RequestTarget, upgrade: boolean): HeaderMap {
    const headers = forwardRequestHeaders(req.headersDistinct, {
      remoteAddress: req.socket.remoteAddress,
      protocol: 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http',
      host: target.authority,
      upgrade,
    });
    // Absolute-form: the URL's authority is the Host (RFC 9112 3.2.2).
    headers.host = target.authority;
    return headers;
  }

  private answer(
    out: ServerResponse | Duplex,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ): void {
    if ('writeHead' in out) return sendJson(out, status, body, headers);
    const reason =
      { 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[status] ?? 'Error';
    rawReply(out, status, reason, `${JSON.stringify(body)}\n`, headers);
  }
}
