/**
 * One wake of one namespace on this activator replica, shared by every
 * connection that needs it (wake-coordinator.ts):
 *
 *   stamp woke-at -> restoreWorkloads -> each taken-over Service, the moment
 *   it has ready endpoints of its own: remove its takeover slice -> none left:
 *   connections held? restoreWorkloads again (restored something? back to
 *   waiting) -> ready
 *   -> Event "Woke" (only by the replica that restored something)
 *
 * woke-at is stamped first so that a sleep decided before this wake and still
 * in the queue is seen as stale by the worker. A sleep whose worker read
 * woke-at just before the stamp may still scale a workload to 0 after the
 * first restore listed it, and a person's `nozzle sleep` may land while
 * connections are held; its last step re-ensures the takeover slices, so the
 * namespace is asleep again with a wake path. The wake sees it on its
 * workload watch and wakes it again (woke-at stamped anew, restore) while
 * connections are held on it, or when a new request joins it (demand()); with
 * neither, the later sleep wins. The restore once every takeover is gone,
 * again only while connections are held, catches what the watch has not
 * shown yet (the readiness timeout bounds both).
 *
 * Readiness comes from the endpoint index (the one place that decides
 * "ready"), event-driven: the wake re-checks on every index change of its
 * namespace, never polls. Held connections do not wait for the wake: they
 * wait on the index for their own Service. Each step is idempotent and reads
 * its state from the objects, so several replicas can run the same wake, and
 * a replica restarted mid-wake finishes it from where the objects say it is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../lib/kube/client.js';
import { describeError, isRetryable } from '../lib/errors.js';
import { Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/log.js';
import { RestoreError } from '../lib/wake/restore-error.js';
import { restoreWorkloads, stampWokeAt, type RestoredWorkload } from '../lib/wake/restore.js';
import { recordWokeEvent, wokeNote } from '../lib/wake/event.js';
import { removeTakeover } from '../lib/takeover/takeover.js';
import type { WorkloadProgress } from '../rescaler-web/status.js';
import type { ActivatorMetrics } from './metrics.js';
import { WorkloadWatch, type Progress } from './wake-progress.js';

export type WakeState = 'waking' | 'ready' | 'failed';

/** What the wake reads of the endpoint index (activator/endpoint-index.ts), structurally. */
export interface WakeIndex {
  /** Whether the Service has a ready endpoint in its own (not Nozzle's) slices, on any port. */
  hasOwnReady(namespace: string, service: string): boolean;
  /** The Services of the namespace that have a takeover slice. */
  takenOver(namespace: string): readonly { readonly namespace: string; readonly service: string }[];
  /** Called with the namespace of every change; returns the unsubscribe. */
  onChange(listener: (namespace: string) => void): () => void;
  /** When present, the wake waits for the first list before judging anything. */
  whenSynced?(): Promise<void>;
}

/** The writes of a wake (lib/; tests give fakes). */
export interface WakeSteps {
  stampWokeAt(namespace: string): Promise<void>;
  restoreWorkloads(namespace: string): Promise<RestoredWorkload[]>;
  removeTakeover(namespace: string, service: string): Promise<string[]>;
  recordWoke(namespace: string, note: string): Promise<void>;
}

export const kubeWakeSteps = (kube: Kube): WakeSteps => ({
  stampWokeAt: (namespace) => stampWokeAt(kube, namespace),
  restoreWorkloads: (namespace) => restoreWorkloads(kube, namespace),
  removeTakeover: (namespace, service) => removeTakeover(kube, namespace, service),
  recordWoke: (namespace, note) => recordWokeEvent(kube, namespace, note),
});

/** What was not ready when a wake gave up: the body of the 504 and of /_nozzle/status. */
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
  readonly index: WakeIndex;
  readonly steps: WakeSteps;
  /** Starts watching the namespace's workloads for the waiting page. */
  readonly progress: (namespace: string) => Progress;
  readonly log: Logger;
  readonly metrics: Pick<ActivatorMetrics, 'wakes' | 'wakeDuration' | 'restoredWorkloads'>;
  readonly readinessTimeoutMs: number;
  /** First delay of the retries of a failed API call (tests shorten it). */
  readonly retryMs?: number;
}

/** The deps of a wake against the cluster: what activator.ts passes to the coordinator's `start`. */
export function kubeWakeDeps(options: {
  kube: Kube;
  index: WakeIndex;
  log: Logger;
  metrics: WakeDeps['metrics'];
  readinessTimeoutMs: number;
}): WakeDeps {
  const { kube, log } = options;
  return {
    ...options,
    steps: kubeWakeSteps(kube),
    progress: (namespace) => new WorkloadWatch({ kube, config: kube.config, log, namespace }),
  };
}

export class Wake {
  readonly startedAt = new Date();
  state: WakeState = 'waking';
  failure: WakeFailedError | undefined;
  /** Milliseconds from start to every takeover removed. */
  readyAfterMs: number | undefined;
  /** Workloads THIS replica restored (another replica may have restored them). */
  restored = 0;
  /** Services whose takeover THIS wake has seen removed (by itself or another replica). */
  readonly released = new Set<string>();
  /** Resolves when the wake is over: ready or failed. */
  readonly done: Promise<void>;

  private readonly removing = new Set<string>();
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly unwatch: () => void;
  private readonly watch: Progress;
  /** A restore after a sleep raced the wake, while it runs. */
  private rewaking = false;
  /** Connections held on this wake now: only they make a sleep that lands meanwhile be undone. */
  private held = 0;
  private readonly log: Logger;
  private workloadsDone = false;
  /** Resolves the current wait for every takeover of the namespace to be removed. */
  private allReleased: (() => void) | undefined;
  private frozenProgress: WorkloadProgress[] | undefined;

  constructor(
    readonly namespace: string,
    private readonly deps: WakeDeps,
  ) {
    this.log = deps.log.child({ namespace });
    this.watch = deps.progress(namespace);
    this.unsubscribe = deps.index.onChange((ns) => {
      if (ns === namespace) this.check();
    });
    this.unwatch = this.watch.onChange?.(() => this.onWorkloads()) ?? (() => undefined);
    this.timer = setTimeout(() => this.timeout(), deps.readinessTimeoutMs);
    this.done = this.run();
  }

  get elapsedMs(): number {
    return this.readyAfterMs ?? Date.now() - this.startedAt.getTime();
  }

  /** Workload progress, from the watches (frozen once the wake is over). */
  progress(): WorkloadProgress[] {
    return this.frozenProgress ?? this.watch.workloads();
  }

  /** The taken-over Services without ready endpoints of their own, and the workloads not fully ready. */
  notReady(): NotReady {
    if (this.failure) return this.failure.notReady;
    return {
      services: this.pending()
        .filter((s) => !this.deps.index.hasOwnReady(this.namespace, s))
        .sort(),
      workloads: this.progress().filter((w) => w.ready < w.desired),
    };
  }

  /** Stops the wake and its watches (shutdown). */
  async close(): Promise<void> {
    this.finish();
    this.allReleased?.();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    try {
      const aborted = new Promise((resolve) => this.stop.signal.addEventListener('abort', resolve));
      if (this.deps.index.whenSynced) await Promise.race([this.deps.index.whenSynced(), aborted]);
      await this.retrying('stamp woke-at', () => this.deps.steps.stampWokeAt(this.namespace));
      const restored = await this.restoreWorkloadsStep();
      this.log.info(
        { restored: restored.map((w) => `${w.kind}/${w.name}=${w.replicas}`) },
        restored.length > 0 ? 'restored workloads' : 'no workload left to restore; waiting for readiness',
      );
      this.workloadsDone = true;
      this.onWorkloads();
      for (;;) {
        await new Promise<void>((resolve) => {
          if (this.state !== 'waking' || this.stop.signal.aborted) return resolve();
          this.allReleased = resolve;
          this.check();
        });
        this.allReleased = undefined;
        if (this.state !== 'waking' || this.stop.signal.aborted) return;
        // Every takeover is gone. A sleep that raced this wake may have scaled
        // a workload to 0 and re-ensured its takeover: while connections are
        // held, restore it and wait again. With nobody held the later sleep
        // wins (a person's `nozzle sleep` right after a wake), and the next
        // request starts a new wake.
        if (this.held === 0) break;
        const again = await this.restoreWorkloadsStep();
        if (again.length === 0) break;
        this.log.warn(
          { restored: again.map((w) => `${w.kind}/${w.name}=${w.replicas}`) },
          'workloads were put back to sleep during the wake; restored them again, waiting for readiness again',
        );
        this.released.clear();
      }
      this.markReady();
      if (this.restored > 0) await this.recordEvent();
      this.log.info({ services: [...this.released].sort(), readyAfterMs: this.readyAfterMs }, 'woke');
    } catch (err) {
      if (this.state === 'waking' && !(err instanceof WakeAbortedError)) {
        const message = `waking ${this.namespace} failed: ${describeError(err)}`;
        this.fail(new WakeFailedError(this.namespace, 'error', message, this.notReady(), { cause: err }));
      }
    } finally {
      this.finish();
      this.unsubscribe();
      this.unwatch();
      await this.watch.stop();
    }
  }

  /** A held connection waits on this wake; the returned function releases it. */
  hold(): () => void {
    this.held++;
    this.onWorkloads();
    let released = false;
    return () => {
      if (!released) this.held--;
      released = true;
    };
  }

  /**
   * A new request asked for this wake (one that gets the waiting page is not
   * held, yet it wants the namespace awake): if a later sleep won while
   * nobody was held, wake it again now rather than wait on a namespace that
   * is asleep.
   */
  demand(): void {
    this.rewakeIfAsleep();
  }

  /** The workload watch changed: while connections are held, a sleep that lands is undone for them. */
  private onWorkloads(): void {
    if (this.held > 0) this.rewakeIfAsleep();
  }

  /**
   * A workload was put back to sleep during this wake and someone wants it:
   * wake it again. With nobody held and no new request (the request that
   * started the wake was answered), the later sleep wins until one comes.
   */
  private rewakeIfAsleep(): void {
    if (this.state !== 'waking' || !this.workloadsDone || this.rewaking) return;
    if (!this.watch.sleeping?.()) return;
    this.rewaking = true;
    void (async () => {
      try {
        await this.retrying('stamp woke-at', () => this.deps.steps.stampWokeAt(this.namespace));
        const again = await this.restoreWorkloadsStep();
        this.log.warn(
          { restored: again.map((w) => `${w.kind}/${w.name}=${w.replicas}`) },
          'workloads were put back to sleep during the wake; woke them again',
        );
      } catch (err) {
        if (this.state === 'waking' && !(err instanceof WakeAbortedError)) {
          const message = `waking ${this.namespace} again failed: ${describeError(err)}`;
          this.fail(new WakeFailedError(this.namespace, 'error', message, this.notReady(), { cause: err }));
        }
      } finally {
        this.rewaking = false;
      }
    })();
  }

  /** The taken-over Services whose takeover this wake has not yet seen removed. */
  private pending(): string[] {
    return this.deps.index
      .takenOver(this.namespace)
      .map((t) => t.service)
      .filter((s) => !this.released.has(s));
  }

  /** From every index change: release each Service that is ready on its own; resolve when none is left. */
  private check(): void {
    if (this.state !== 'waking' || !this.workloadsDone) return;
    const pending = this.pending();
    for (const service of pending) {
      if (!this.removing.has(service) && this.deps.index.hasOwnReady(this.namespace, service)) {
        void this.release(service);
      }
    }
    if (pending.length === 0 && this.removing.size === 0) this.allReleased?.();
  }

  private async release(service: string): Promise<void> {
    this.removing.add(service);
    try {
      const removed = await this.retrying(`remove the takeover of Service ${service}`, () =>
        this.deps.steps.removeTakeover(this.namespace, service),
      );
      this.released.add(service);
      this.log.info({ service, slices: removed }, 'Service ready on its own: takeover removed');
    } catch (err) {
      if (this.state === 'waking' && !(err instanceof WakeAbortedError)) {
        const message = `waking ${this.namespace}: removing the takeover of Service ${service} failed: ${describeError(err)}`;
        this.fail(new WakeFailedError(this.namespace, 'error', message, this.notReady(), { cause: err }));
      }
    } finally {
      this.removing.delete(service);
      this.check();
    }
  }

  /** Runs an idempotent step again after transient failures, until it works or the wake ends. */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(this.deps.retryMs ?? 200, 5_000);
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
        return await this.deps.steps.restoreWorkloads(this.namespace);
      } catch (err) {
        // Count what this attempt did restore; the retry does the rest.
        if (err instanceof RestoreError) this.countRestored(err.restored.length);
        throw err;
      }
    });
    this.countRestored(restored.length);
    return restored;
  }

  private countRestored(n: number): void {
    this.restored += n;
    this.deps.metrics.restoredWorkloads.inc(n);
  }

  private markReady(): void {
    this.readyAfterMs = Date.now() - this.startedAt.getTime();
    this.state = 'ready';
    this.frozenProgress = this.watch.workloads();
    clearTimeout(this.timer);
    this.deps.metrics.wakes.inc({ result: 'ready' });
    this.deps.metrics.wakeDuration.observe(this.readyAfterMs / 1000);
  }

  private timeout(): void {
    if (this.state !== 'waking') return;
    const notReady = this.notReady();
    const parts = [
      ...notReady.services.map((s) => `Service ${s} has no ready endpoint`),
      ...notReady.workloads.map((w) => `${w.kind} ${w.name} has ${w.ready}/${w.desired} ready`),
    ];
    const seconds = Math.round(this.deps.readinessTimeoutMs / 1000);
    const message = `${this.namespace} was not ready after ${seconds}s: ${parts.join('; ') || 'the restore did not finish'}`;
    this.fail(new WakeFailedError(this.namespace, 'timeout', message, notReady));
  }

  private fail(failure: WakeFailedError): void {
    if (this.state !== 'waking') return;
    this.frozenProgress = this.watch.workloads();
    this.state = 'failed';
    this.failure = failure;
    this.deps.metrics.wakes.inc({ result: 'failed' });
    this.log.warn({ reason: failure.reason }, failure.message);
    this.finish();
    this.allReleased?.();
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.stop.abort();
  }

  private async recordEvent(): Promise<void> {
    const note = wokeNote(this.restored, this.elapsedMs);
    try {
      await this.deps.steps.recordWoke(this.namespace, note);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not record the Woke event');
    }
  }
}
