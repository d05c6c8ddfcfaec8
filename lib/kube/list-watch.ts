/**
 * List, then watch from the list's resourceVersion, forever: the loop behind
 * the activator's endpoint index, port table, convergence leader and wake
 * progress, and the worker's activator-pod cache. Unlike client-node's
 * ListWatch it never gives up: a failed list or watch is retried with backoff,
 * an expired resourceVersion (410 Gone) starts over with a fresh list, and a
 * watch the server or the client timeout closed is resumed from the last
 * resourceVersion seen.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { describeError } from '../errors.js';
import { Backoff } from '../backoff.js';

export interface ListResult<T> {
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string };
}

export interface ListWatchHandlers<T> {
  /** After every (re)list: the complete set of objects now. */
  replace(items: readonly T[]): void;
  /** Added or modified. */
  upsert(item: T): void;
  /** Deleted, or no longer matching the label selector. */
  remove(item: T): void;
}

export interface ListWatchOptions<T> {
  readonly config: KubeConfig;
  /** API path of the collection, e.g. `/apis/networking.k8s.io/v1/ingresses`. */
  readonly path: string;
  readonly labelSelector?: string;
  /** The typed list call for the same collection and selector. */
  readonly list: () => Promise<ListResult<T>>;
  readonly handlers: ListWatchHandlers<T>;
  readonly log: Logger;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

class WatchStatusError extends Error {
  override readonly name = 'WatchStatusError';
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class ListWatch<T extends KubernetesObject> {
  private readonly watch: Watch;
  private resourceVersion = '';
  private stopped = false;
  private current: AbortController | undefined;
  private wakeUp: (() => void) | undefined;
  private syncedOnce = false;
  private readonly syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  /** The last failure, until the next successful list or event. */
  lastError: string | undefined;

  constructor(private readonly options: ListWatchOptions<T>) {
    this.watch = new Watch(options.config);
  }

  /** True once the first list has been delivered. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Resolves after the first list has been delivered to `replace`. */
  whenSynced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.options.backoffMs ?? 250, this.options.maxBackoffMs ?? 10_000);
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '') await this.relist();
        if (this.stopped) break;
        const progressed = await this.watchOnce();
        if (progressed) backoff.reset();
        continue;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof WatchStatusError && err.code === 410) {
          // The resourceVersion is too old for the watch cache: list again, at once.
          this.resourceVersion = '';
          continue;
        }
        this.lastError = describeError(err);
        const delay = backoff.next();
        this.options.log.warn(
          { path: this.options.path, err: this.lastError, retryInMs: delay },
          'list/watch failed; retrying',
        );
        await this.pause(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.options.list();
    if (this.stopped) return;
    this.options.handlers.replace(list.items);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.lastError = undefined;
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  /**
   * One watch request, until the server ends it (timeoutSeconds), the client
   * timeout fires on a quiet watch, or it fails. Resolves to whether any event
   * arrived; rejects on a failure worth backing off for.
   */
  private watchOnce(): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let progressed = false;
      let statusError: WatchStatusError | undefined;
      const onEvent = (phase: string, object: unknown): void => {
        if (this.stopped) return;
        if (phase === 'ERROR') {
          const status = object as { code?: number; message?: string } | undefined;
          statusError = new WatchStatusError(status?.code, status?.message ?? 'watch ERROR event');
          this.current?.abort();
          return;
        }
        const item = object as T;
        const rv = item.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        progressed = true;
        this.lastError = undefined;
        if (phase === 'ADDED' || phase === 'MODIFIED') this.options.handlers.upsert(item);
        else if (phase === 'DELETED') this.options.handlers.remove(item);
        // BOOKMARK: only the resourceVersion matters.
      };
      const onDone = (err: unknown): void => {
        if (statusError) return reject(statusError);
        if (this.stopped || err === null || err === undefined) return resolve(progressed);
        if (err instanceof Error && err.name === 'TimeoutError') return resolve(progressed);
        if (err instanceof Error && err.name === 'AbortError') return resolve(progressed);
        const code = (err as { statusCode?: number }).statusCode;
        reject(
          code === 410
            ? new WatchStatusError(410, 'Gone')
            : err instanceof Error
              ? err
              : new Error(describeError(err)),
        );
      };
      this.watch
        .watch(
          this.options.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: this.options.labelSelector,
            // Below client-node's 30 s inactivity timeout: the server ends a quiet
            // watch cleanly before the client would abort it.
            timeoutSeconds: 20 + Math.floor(Math.random() * 8),
          },
          onEvent,
          onDone,
        )
        .then(
          (controller) => {
            this.current = controller;
            if (this.stopped) controller.abort();
          },
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        );
    });
  }

  private async pause(ms: number): Promise<void> {
    const controller = new AbortController();
    this.wakeUp = () => controller.abort();
    try {
      await sleep(ms, undefined, { signal: controller.signal });
    } catch {
      // woken by stop()
    } finally {
      this.wakeUp = undefined;
    }
  }
}
