/**
 * The wakes in progress (and lately finished), one per namespace on this
 * replica: every connection for a sleeping namespace joins the same Wake. A
 * failed wake is kept so /_nozzle/status can say what went wrong, until a
 * request tries again; a finished one is kept for NOZZLE_WAKE_GRACE so the
 * waiting page's status polls see it ready. Nothing calls back into it: a
 * request only reaches a wake when its Service has no ready endpoint of its
 * own (the data path splices at once otherwise), so a request that finds a
 * finished wake means the namespace went back to sleep: it starts a new one,
 * and a request that joins a wake in progress tells it so (demand()), in case
 * a sleep landed on it after its first request was answered.
 * Starting one (never joining one) passes the rate limits first
 * (wake-limits.ts): refused, it throws WakeRefused and nothing starts.
 */
import type { Logger } from '../lib/log.js';
import type { WakeLimits } from './wake-limits.js';
import type { Wake } from './wake.js';

/** What the coordinator needs of a wake (tests give it fakes). */
export type CoordinatedWake = Pick<Wake, 'state' | 'done' | 'close'> & Partial<Pick<Wake, 'demand'>>;

export interface CoordinatorDeps<W extends CoordinatedWake> {
  readonly wakeGraceMs: number;
  readonly log: Logger;
  /** Starts one wake of the namespace (activator.ts: `new Wake(...)`). */
  readonly start: (namespace: string) => W;
  /** Rate limits on starting wakes; none when absent. */
  readonly limits?: Pick<WakeLimits, 'start'>;
}

export class WakeCoordinator<W extends CoordinatedWake = Wake> {
  private readonly wakes = new Map<string, W>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly deps: CoordinatorDeps<W>) {}

  get(namespace: string): W | undefined {
    return this.wakes.get(namespace);
  }

  /**
   * The namespace's wake: the one in progress, or a new one. A failed or
   * finished wake is started again only when `retryFailed` (a request, not a
   * status poll). Throws WakeRefused when a rate limit forbids starting one.
   */
  wake(namespace: string, options: { retryFailed: boolean }): W {
    const current = this.wakes.get(namespace);
    if (current?.state === 'waking' && options.retryFailed) current.demand?.();
    if (current && (current.state === 'waking' || !options.retryFailed)) return current;
    if (this.closed) throw new Error('the activator is shutting down');
    this.deps.limits?.start(namespace);
    clearTimeout(this.expiry.get(namespace));
    const wake = this.deps.start(namespace);
    this.wakes.set(namespace, wake);
    this.deps.log.info({ namespace }, 'waking');
    void wake.done.then(() => this.expire(namespace, wake));
    return wake;
  }

  /** Wakes in progress, for shutdown and tests. */
  get active(): number {
    return [...this.wakes.values()].filter((w) => w.state === 'waking').length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.expiry.values()) clearTimeout(timer);
    await Promise.all([...this.wakes.values()].map((w) => w.close()));
    this.wakes.clear();
  }

  private expire(namespace: string, wake: W): void {
    if (wake.state !== 'ready' || this.closed) return; // failed wakes stay until retried
    const timer = setTimeout(() => {
      if (this.wakes.get(namespace) === wake) this.wakes.delete(namespace);
      this.expiry.delete(namespace);
    }, this.deps.wakeGraceMs);
    timer.unref();
    this.expiry.set(namespace, timer);
  }
}
