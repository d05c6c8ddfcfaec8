/**
 * What the data path needs of the wakes (wake-coordinator.ts), typed
 * structurally so that it depends on no implementation: start or join the
 * namespace's wake, and read its state for /_nozzle/status.
 */
import type { WorkloadProgress } from '../rescaler-web/status.js';

export interface DataPathWake {
  readonly state: 'waking' | 'ready' | 'failed';
  /** Settles when the wake is over, ready or failed. */
  readonly done: Promise<void>;
  readonly startedAt?: Date;
  readonly elapsedMs?: number;
  /** `timeout`: the message names only the namespace's own workloads; `error`: an API error, never shown to clients. */
  readonly failure?: { readonly reason: 'timeout' | 'error'; readonly message: string };
  progress?(): readonly WorkloadProgress[];
  /** A held connection waits on this wake until the returned release is called. */
  hold?(): () => void;
}

export interface Wakes {
  /**
   * The namespace's wake: the one in progress, or a new one (a failed one
   * again only when `retryFailed`). Throws WakeRefused (wake-limits.ts) when
   * a rate limit forbids starting one, and an Error when shutting down.
   */
  wake(namespace: string, options: { retryFailed: boolean }): DataPathWake;
  get(namespace: string): DataPathWake | undefined;
}
