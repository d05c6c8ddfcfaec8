/**
 * One connection on a takeover port, from accept to splice (design v2,
 * "Wake"), its target known from the port alone:
 *
 *   ready already?           -> splice at once (no sniff, no wake)
 *   sniff: closed-silent     -> nothing (a TCP health check: no wake)
 *          slow              -> closed (an opening unfinished at the header timeout)
 *          http1             -> read the head (same deadline, from accept), then
 *              bot           -> 503 + Retry-After, no wake
 *              /_nozzle/...  -> page server (status of this namespace, verified wake)
 *              health check  -> 200, no wake
 *              browser GET   -> page server (waiting page, wake)
 *              else          -> hold
 *          tls, http2, other, silent -> hold
 *   hold: slot (per namespace) -> budget (all namespaces) -> wake (rate
 *         limits) -> ready endpoint (readiness timeout)
 *         -> connect (round robin) -> splice with every byte read so far
 *
 * HTTP is never re-serialized: the client's bytes go to the pod as they
 * came, and once spliced nothing is parsed. The activator answers HTTP
 * itself only to refuse (400/408/431, 503 over the hold limit or budget, for
 * a wake refused by a rate limit or a bot, 504 past the readiness timeout,
 * 502); any other protocol is closed instead.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../lib/log.js';
import type { PortTarget } from '../lib/takeover/port-assignment.js';
import { Dialer } from './dial.js';
import type { EndpointIndex, ReadyEndpoint } from './endpoint-index.js';
import { HeldBytes } from './held-bytes.js';
import type { HoldBudget } from './hold-budget.js';
import type { HoldSlots } from './holds.js';
import { answer } from './http-answer.js';
import { decideHttp } from './http-decision.js';
import type { ActivatorMetrics, ConnectionClass, ConnectionOutcome, Refusal } from './metrics.js';
import type { PageServer } from './page-server.js';
import { readRequestHead, type HeadResult } from './request-head.js';
import { sniff } from './sniff.js';
import { splice } from './splice.js';
import { WakeRefused } from './wake-limits.js';
import type { DataPathWake, Wakes } from './waker.js';

export interface ConnectionSettings {
  readonly silentDelayMs: number;
  readonly headerTimeoutMs: number;
  readonly readinessTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly spliceIdleTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly ignoredAgents: readonly RegExp[];
  readonly botAgents: readonly RegExp[];
}

export interface ConnectionDeps {
  readonly index: Pick<EndpointIndex, 'ready' | 'whenReady' | 'hasOwnReady' | 'takenOver'>;
  readonly wakes: Wakes;
  readonly holds: HoldSlots;
  readonly budget: HoldBudget;
  readonly pages: Pick<PageServer, 'serve'>;
  readonly metrics: ActivatorMetrics;
  readonly log: Logger;
  readonly settings: ConnectionSettings;
}

/** Why a hold ended without a ready endpoint. */
type HoldEnd = 'gone' | 'timeout' | 'wake-failed';

const REFUSALS = { malformed: 400, timeout: 408, 'too-large': 431 } as const;

const ignore = (): void => undefined;

export class ConnectionPipeline {
  private readonly dialer: Dialer;

  constructor(private readonly deps: ConnectionDeps) {
    this.dialer = new Dialer(deps.settings.connectTimeoutMs);
  }

  /** Handles `socket` to its end; never rejects. */
  async handle(socket: Socket, target: PortTarget): Promise<void> {
    socket.on('error', ignore);
    const { index, metrics, settings } = this.deps;
    const ready = index.ready(target);
    if (ready.length > 0) return this.forward(socket, target, 'ready', ready, Buffer.alloc(0), false);
    // One deadline from accept for everything before the decision: the sniff and the head.
    const deadline = performance.now() + settings.headerTimeoutMs;
    const sniffed = await sniff(socket, {
      silentDelayMs: settings.silentDelayMs,
      deadlineMs: settings.headerTimeoutMs,
    });
    if (sniffed.kind === 'closed-silent') {
      metrics.connection('closed-silent', 'closed-silent');
      return void socket.destroy();
    }
    if (sniffed.kind === 'slow') {
      metrics.connection('slow', 'header-timeout');
      metrics.refused('header-timeout');
      return void socket.destroy();
    }
    if (sniffed.kind !== 'http1') return this.hold(socket, target, sniffed.kind, sniffed.bytes, false);
    const read = await readRequestHead(socket, sniffed.bytes, {
      timeoutMs: Math.max(1, deadline - performance.now()),
    });
    if (!read.ok) return this.refuse(socket, read);
    switch (decideHttp(read.head, settings)) {
      case 'bot':
        return this.refuseWaiting(socket, 'http1', true, 'bot', 'bot', {
          error: 'asleep',
          message: 'this app is asleep and is not woken for crawlers; retry later',
        });
      case 'page':
      case 'browser':
        metrics.connection('http1', 'page');
        return this.deps.pages.serve(socket, read.bytes, target);
      case 'ignored':
        metrics.connection('http1', 'ignored');
        return answer(socket, 200, 'ok\n');
      case 'hold':
        return this.hold(socket, target, 'http1', read.bytes, true);
    }
  }

  private refuse(socket: Socket, read: Extract<HeadResult, { ok: false }>): void {
    if (read.problem === 'closed') {
      this.deps.metrics.connection('http1', 'client-gone');
      return void socket.destroy();
    }
    this.deps.metrics.connection('http1', 'bad-request');
    if (read.problem === 'timeout') this.deps.metrics.refused('header-timeout');
    answer(socket, REFUSALS[read.problem], { error: 'bad_request', message: read.reason });
  }

  /** Waits, in a bounded slot, for a ready endpoint of the target, then splices. */
  private async hold(
    socket: Socket,
    target: PortTarget,
    kind: ConnectionClass,
    head: Buffer,
    http: boolean,
  ): Promise<void> {
    const { holds, budget, wakes, metrics } = this.deps;
    const { namespace } = target;
    const slot = holds.tryAcquire(namespace);
    if (!slot) {
      return this.refuseWaiting(socket, kind, http, 'hold-limit', 'hold-limit', {
        error: 'hold_limit',
        message: 'too many connections are waiting for this app to wake; retry later',
      });
    }
    const charge = budget.tryCharge(head.length);
    if (!charge) {
      slot.release();
      return this.refuseWaiting(socket, kind, http, 'hold-budget', 'hold-budget', {
        error: 'hold_budget',
        message: 'too many connections are waiting for apps to wake; retry later',
      });
    }
    let wake: DataPathWake | undefined;
    try {
      wake = wakes.wake(namespace, { retryFailed: true });
    } catch (err) {
      if (err instanceof WakeRefused) {
        slot.release();
        charge.release();
        return this.refuseWaiting(
          socket,
          kind,
          http,
          'wake-limit',
          undefined, // counted by the limits themselves
          { error: 'wake_limit', message: 'this app cannot be woken right now; retry later' },
          Math.ceil(err.retryAfterMs / 1000),
        );
      }
      // The coordinator is closed (shutting down): a failed wake.
    }
    const held = new HeldBytes(socket, head, http, (bytes) => charge.add(bytes));
    let outcome: ReadyEndpoint[] | HoldEnd;
    try {
      outcome = wake ? await this.waitReady(target, wake, held.signal) : 'wake-failed';
    } finally {
      slot.release();
      charge.release();
    }
    const bytes = held.release();
    if (Array.isArray(outcome)) return this.forward(socket, target, kind, outcome, bytes, true);
    if (outcome === 'gone') {
      metrics.connection(kind, 'client-gone');
      return void socket.destroy();
    }
    metrics.connection(kind, outcome);
    if (!http) return void socket.destroy();
    if (outcome === 'timeout') {
      this.deps.log.warn(this.notReady(target), 'a held request timed out');
      return answer(socket, 504, {
        error: 'readiness_timeout',
        message: `the app was not ready within ${this.deps.settings.readinessTimeoutMs / 1000} s; retry later`,
      });
    }
    // The reason stays in the activator's log and the namespace's Events:
    // the client is anonymous, and the body names nothing internal.
    answer(socket, 502, { error: 'wake_failed', message: 'the app could not be started; retry later' });
  }

  /**
   * A connection refused before it is held: HTTP gets 503 with Retry-After
   * (the setting's, or later when the refusal says so), anything else is closed.
   */
  private refuseWaiting(
    socket: Socket,
    kind: ConnectionClass,
    http: boolean,
    outcome: ConnectionOutcome,
    reason: Refusal | undefined,
    body: object,
    retryAfterSeconds = 0,
  ): void {
    const { metrics, settings } = this.deps;
    metrics.connection(kind, outcome);
    if (reason) metrics.refused(reason);
    if (!http) return void socket.destroy();
    const retryAfter = Math.max(settings.retryAfterSeconds, retryAfterSeconds);
    answer(socket, 503, body, { 'retry-after': String(retryAfter) });
  }

  /** The target's ready endpoints, or why there are none: the client left, the timeout, the wake failed. */
  private async waitReady(
    target: PortTarget,
    wake: DataPathWake,
    gone: AbortSignal,
  ): Promise<ReadyEndpoint[] | HoldEnd> {
    const { index, settings } = this.deps;
    const release = wake.hold?.();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error('readiness timeout')), settings.readinessTimeoutMs);
    const onGone = (): void => stop.abort(gone.reason);
    gone.addEventListener('abort', onGone, { once: true });
    if (gone.aborted) onGone();
    const ready = index.whenReady(target, stop.signal);
    ready.catch(ignore); // rejected by the abort below when the wake failed first
    const failed = wake.done.then(
      () => (wake.state === 'failed' ? ('wake-failed' as const) : new Promise<never>(ignore)),
      () => 'wake-failed' as const,
    );
    try {
      return await Promise.race([ready, failed]);
    } catch {
      return gone.aborted ? 'gone' : 'timeout';
    } finally {
      release?.();
      clearTimeout(timer);
      gone.removeEventListener('abort', onGone);
      stop.abort();
    }
  }

  /** For the log when a held request times out: what in the target's namespace has no ready endpoint of its own. */
  private notReady(target: PortTarget): object {
    const { index, settings } = this.deps;
    const services = index
      .takenOver(target.namespace)
      .filter((s) => !index.hasOwnReady(s.namespace, s.service))
      .map((s) => s.service);
    if (!services.includes(target.service)) services.unshift(target.service);
    return {
      namespace: target.namespace,
      service: target.service,
      port: target.servicePort,
      timeoutMs: settings.readinessTimeoutMs,
      notReady: services,
    };
  }

  private async forward(
    socket: Socket,
    target: PortTarget,
    kind: ConnectionClass,
    endpoints: readonly ReadyEndpoint[],
    head: Buffer,
    held: boolean,
  ): Promise<void> {
    const { metrics, settings } = this.deps;
    const readyAt = performance.now();
    const key = `${target.namespace}/${target.service}/${target.servicePort}`;
    const upstream = await this.dialer.connect(key, endpoints);
    if (!upstream) {
      metrics.connection(kind, 'upstream-error');
      this.deps.log.warn(
        { target: key, endpoints: endpoints.map((e) => e.address) },
        'no ready pod accepted',
      );
      if (kind !== 'http1') return void socket.destroy();
      return answer(socket, 502, {
        error: 'upstream_error',
        message: 'no instance of the app accepted the connection; retry',
      });
    }
    if (held) metrics.readyToForward.observe((performance.now() - readyAt) / 1000);
    metrics.connection(kind, 'spliced');
    await splice(socket, upstream, { head, idleTimeoutMs: settings.spliceIdleTimeoutMs });
  }
}
