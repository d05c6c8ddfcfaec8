/**
 * One wake of one namespace, shared by every request that needs it:
 *
 *   stampWokeAt -> restoreWorkloads -> every recorded backend Service has a
 *   ready endpoint (EndpointSlice watch) -> restoreWorkloads again (restored
 *   something? back to waiting for readiness) -> restoreIngresses -> Event
 *
 * woke-at is stamped first so that a sleep decided before this wake and
 * still in the queue is seen as stale by the worker, instead of putting a
 * just-restored workload back to sleep. It cannot stop a sleep whose worker
 * read woke-at just before the stamp and scales the workload to 0 after the
 * first restoreWorkloads listed it: that is what the second restoreWorkloads,
 * right before the Ingresses point at the workloads again, is for (an
 * Ingress restored over a workload at 0 would never wake it again).
 *
 * Each step is idempotent and reads its state from the objects, so several
 * activator replicas can run the same wake (the one that finds the replicas
 * already restored just waits), and an activator restarted mid-wake finishes
 * it from where the objects say it is. Held requests do not wait for the
 * whole wake: each is released the moment its own backend is Ready.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../lib/kube/client.js';
import { describeError, isRetryable } from '../lib/errors.js';
import { Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/log.js';
import { RestoreError } from '../lib/wake/restore-error.js';
import {
  restoreIngresses,
  restoreWorkloads,
  stampWokeAt,
  type RestoredWorkload,
} from '../lib/wake/restore.js';
import type { WorkloadProgress } from '../rescaler-web/status.js';
import { recordWokeEvent, wokeNote } from '../lib/wake/event.js';
import type { ActivatorMetrics } from './metrics.js';
import { NamespaceReadiness } from './readiness.js';

export type WakeState = 'waking' | 'ready' | 'failed';

/** What was not ready when a wake gave up: the body of the 504. */
export interface NotReady {
  readonly services: readonly string[];
  readonly workloads: readonly WorkloadProgress[];
}

export class WakeFailedError extends Error {
  override readonly name = 'WakeFailedError';
  constructor(
    readonly namespace: string,
    /** `timeout`: not Ready within the readiness timeout; `error`: an API call failed for good. */
    readonly reason: 'timeout' | 'error',
    message: string,
    readonly notReady: NotReady,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class WakeAbortedError extends Error {
  override readonly name = 'WakeAbortedError';
}

export interface WakeDeps {
  readonly kube: Kube;
  readonly config: KubeConfig;
  readonly log: Logger;
  readonly metrics: ActivatorMetrics;
  readonly readinessTimeoutMs: number;
  /**
   * The recorded backend Services of the namespace (from the index), read
   * when the wake starts and again before the Ingresses are restored.
   */
  readonly servicesOf: (namespace: string) => Set<string>;
}

interface Waiter {
  readonly service: string;
  resolve(): void;
  reject(err: Error): void;
}

export class Wake {
  readonly startedAt = new Date();
  state: WakeState = 'waking';
  failure: WakeFailedError | undefined;
  /** Milliseconds from start to every backend Ready. */
  readyAfterMs: number | undefined;
  /** Workloads THIS activator restored (another replica may have restored them). */
  restored = 0;
  /** Ingresses THIS activator restored. */
  restoredIngresses: string[] = [];
  /** Resolves when the wake is over: ready and Ingresses restored, or failed. */
  readonly done: Promise<void>;

  private readonly services: Set<string>;
  private readonly readiness: NamespaceReadiness;
  private readonly waiters = new Set<Waiter>();
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private workloadsDone = false;
  /** Resolves the current wait for every backend to be Ready. */
  private allReady: (() => void) | undefined;
  private readonly log: Logger;
  private frozenProgress: WorkloadProgress[] | undefined;

  constructor(
    readonly namespace: string,
    private readonly deps: WakeDeps,
  ) {
    this.log = deps.log.child({ namespace });
    this.services = deps.servicesOf(namespace);
    this.readiness = new NamespaceReadiness({
      kube: deps.kube,
      config: deps.config,
      log: this.log,
      namespace,
      onChange: () => this.check(),
    }).start();
    this.timer = setTimeout(() => this.timeout(), deps.readinessTimeoutMs);
    this.done = this.run();
  }

  get elapsedMs(): number {
    return this.readyAfterMs ?? Date.now() - this.startedAt.getTime();
  }

  /** Workload progress, from the watches (frozen once the wake is over). */
  progress(): WorkloadProgress[] {
    return this.frozenProgress ?? this.readiness.workloads();
  }

  isBackendReady(service: string): boolean {
    if (this.state === 'ready') return true;
    return this.state === 'waking' && this.readiness.isReady(service);
  }

  /**
   * Resolves the moment `service` has a ready endpoint; rejects with
   * WakeFailedError if the wake fails first, or with the signal's reason.
   */
  backendReady(service: string, signal: AbortSignal): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.isBackendReady(service)) return Promise.resolve();
    if (!this.services.has(service)) {
      // A route the index learned after the wake began: wait for it too.
      this.services.add(service);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        service,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal.reason instanceof Error ? signal.reason : new WakeAbortedError('aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Stops the wake's watches; pending waiters are rejected (shutdown). */
  async close(): Promise<void> {
    this.finish();
    for (const waiter of this.waiters) waiter.reject(new WakeAbortedError('the activator is shutting down'));
    this.waiters.clear();
    this.allReady?.();
    await this.done.catch(() => undefined);
    await this.readiness.stop();
  }

  private async run(): Promise<void> {
    try {
      await this.retrying('stamp woke-at', () => stampWokeAt(this.deps.kube, this.namespace));
      const restored = await this.restoreWorkloadsStep();
      this.log.info(
        { restored: restored.map((w) => `${w.kind}/${w.name}=${w.replicas}`) },
        restored.length > 0 ? 'restored workloads' : 'no workload left to restore; waiting for readiness',
      );
      this.workloadsDone = true;
      for (;;) {
        await new Promise<void>((resolve) => {
          if (this.stop.signal.aborted) return resolve();
          this.allReady = resolve;
          this.check();
        });
        this.allReady = undefined;
        if (this.state !== 'waking' || this.stop.signal.aborted) return;
        // Every backend is Ready. Before the Ingresses point at the workloads
        // again: a sleep that raced this wake (its worker read woke-at before
        // the stamp, and scaled to 0 after the restore above listed the
        // workloads) is undone here, and the wait starts over; the readiness
        // timeout bounds the loop. Services recorded since the start (another
        // workload's sleep rewrote more paths) are waited for too.
        for (const service of this.deps.servicesOf(this.namespace)) this.services.add(service);
        const again = await this.restoreWorkloadsStep();
        if (again.length === 0 && this.allServicesReady()) break;
        if (again.length > 0) {
          this.log.warn(
            { restored: again.map((w) => `${w.kind}/${w.name}=${w.replicas}`) },
            'workloads were put back to sleep during the wake; restored them again, waiting for readiness again',
          );
        }
      }
      if (!this.markReady()) return;
      this.restoredIngresses = await this.retrying('restore ingresses', () =>
        restoreIngresses(this.deps.kube, this.namespace),
      );
      if (this.restoredIngresses.length > 0) await this.recordEvent();
      this.log.info({ ingresses: this.restoredIngresses, readyAfterMs: this.readyAfterMs }, 'woke');
    } catch (err) {
      if (this.state === 'waking') {
        const message = `waking ${this.namespace} failed: ${describeError(err)}`;
        this.fail(new WakeFailedError(this.namespace, 'error', message, this.notReady(), { cause: err }));
      } else if (!(err instanceof WakeAbortedError)) {
        // Ready, but the Ingresses could not be restored: requests keep coming
        // through the activator and a later wake restores them.
        this.log.error({ err: describeError(err) }, 'backends are ready but restoring the Ingresses failed');
      }
    } finally {
      this.finish();
      await this.readiness.stop();
    }
  }

  /** Runs an idempotent step again after transient failures, until it works or the wake ends. */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(200, 5_000);
    for (;;) {
      if (this.stop.signal.aborted) throw new WakeAbortedError(`${what}: the wake ended`);
      const delay = backoff.next();
      try {
        return await step();
      } catch (err) {
        if (!isRetryable(err)) throw err;
        this.log.warn({ err: describeError(err), retryInMs: delay }, `${what} failed; retrying`);
      }
      await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  /** restoreWorkloads, retried; counts what it restored. */
  private async restoreWorkloadsStep(): Promise<RestoredWorkload[]> {
    const restored = await this.retrying('restore workloads', async () => {
      try {
        return await restoreWorkloads(this.deps.kube, this.namespace);
      } catch (err) {
        // Count what this attempt did restore; the retry does the rest.
        if (err instanceof RestoreError) this.countRestored(err.restored.length);
        throw err;
      }
    });
    this.countRestored(restored.length);
    return restored;
  }

  private allServicesReady(): boolean {
    if (!this.readiness.synced) return false;
    for (const service of this.services) if (!this.readiness.isReady(service)) return false;
    return true;
  }

  private countRestored(n: number): void {
    this.restored += n;
    this.deps.metrics.restoredWorkloads.inc(n);
  }

  /** From every watch event: release the requests whose backend is Ready; finish when all are. */
  private check(): void {
    if (this.state !== 'waking') return;
    for (const waiter of this.waiters) {
      if (this.readiness.isReady(waiter.service)) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
    if (!this.workloadsDone || !this.allServicesReady()) return;
    this.allReady?.();
  }

  /** Every backend Ready and confirmed awake: release everyone; the Ingresses are restored next. */
  private markReady(): boolean {
    if (this.state !== 'waking') return false;
    this.readyAfterMs = Date.now() - this.startedAt.getTime();
    this.state = 'ready';
    this.frozenProgress = this.readiness.workloads();
    clearTimeout(this.timer);
    this.deps.metrics.wakes.inc({ result: 'ready' });
    this.deps.metrics.wakeDuration.observe(this.readyAfterMs / 1000);
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
    return true;
  }

  private timeout(): void {
    if (this.state !== 'waking') return;
    const notReady = this.notReady();
    const parts = [
      ...notReady.services.map((s) => `Service ${s} has no ready endpoint`),
      ...notReady.workloads.map((w) => `${w.kind} ${w.name} has ${w.ready}/${w.desired} ready`),
    ];
    const seconds = Math.round(this.deps.readinessTimeoutMs / 1000);
    const message = `${this.namespace} was not ready after ${seconds}s: ${parts.join('; ') || 'readiness unknown (the watches never synced)'}`;
    this.fail(new WakeFailedError(this.namespace, 'timeout', message, notReady));
  }

  private fail(failure: WakeFailedError): void {
    if (this.state !== 'waking') return;
    this.state = 'failed';
    this.failure = failure;
    this.frozenProgress = this.readiness.workloads();
    this.deps.metrics.wakes.inc({ result: 'failed' });
    this.log.warn({ reason: failure.reason }, failure.message);
    for (const waiter of this.waiters) waiter.reject(failure);
    this.waiters.clear();
    this.finish();
    this.allReady?.();
  }

  private notReady(): NotReady {
    return {
      services: [...this.services].filter((s) => !this.readiness.isReady(s)).sort(),
      workloads: this.readiness.workloads().filter((w) => w.ready < w.desired),
    };
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.stop.abort();
  }

  private async recordEvent(): Promise<void> {
    const workloads = this.progress().length || this.restored;
    const note = wokeNote(workloads, this.readyAfterMs ?? this.elapsedMs);
    try {
      await recordWokeEvent(this.deps.kube, this.namespace, note);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not record the Woke event');
    }
  }
}
