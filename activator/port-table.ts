/**
 * Which port serves which Service port: a ListWatch of the port Leases
 * (Nozzle's namespace, `app.kubernetes.io/managed-by=nozzle.io`), each read
 * with readPortLease, reconciles the listeners (port-listeners.ts) on every
 * change. A Lease that does not read as an assignment is skipped with its
 * reason: logged once, counted in a gauge, never served. A port that could
 * not be bound is tried again after a pause.
 */
import type { V1Lease } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { MANAGER, labels } from '../lib/names.js';
import {
  isInvalid,
  readPortLease,
  type InvalidLease,
  type PortTarget,
} from '../lib/takeover/port-assignment.js';
import { allSynced, type Feed, type FeedMaker } from './feed.js';
import { ListWatch, type ListWatchHandlers } from '../lib/kube/list-watch.js';
import type { ActivatorMetrics } from './metrics.js';
import type { PortListeners } from './port-listeners.js';

export const BIND_RETRY_MS = 5_000;

/** Pure: the valid Leases as `port -> target`, and the others with their reasons. */
export function portTargets(leases: Iterable<V1Lease>): {
  ports: Map<number, PortTarget>;
  invalid: InvalidLease[];
} {
  const ports = new Map<number, PortTarget>();
  const invalid: InvalidLease[] = [];
  for (const lease of leases) {
    const read = readPortLease(lease);
    if (isInvalid(read)) invalid.push(read);
    else
      ports.set(read.port, {
        namespace: read.namespace,
        service: read.service,
        servicePort: read.servicePort,
      });
  }
  return { ports, invalid };
}

export interface PortTableOptions {
  readonly listeners: Pick<PortListeners<PortTarget>, 'reconcile' | 'ports'>;
  readonly log: Logger;
  readonly metrics: Pick<ActivatorMetrics, 'invalidLeases' | 'listeners'>;
}

export class PortTable {
  private readonly leases = new Map<string, V1Lease>();
  private readonly feeds: readonly Feed[];
  /** `lease: reason` of the invalid Leases already logged. */
  private logged = new Set<string>();
  private applied: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: PortTableOptions,
    makeFeeds: FeedMaker<ListWatchHandlers<V1Lease>>,
  ) {
    this.feeds = makeFeeds(this.handlers());
  }

  /** The production table: the port Leases of `systemNamespace`. */
  static watching(kube: Kube, systemNamespace: string, options: PortTableOptions): PortTable {
    const labelSelector = `${labels.appManagedBy}=${MANAGER}`;
    return new PortTable(options, (handlers) => [
      new ListWatch<V1Lease>({
        config: kube.config,
        log: options.log,
        path: `/apis/coordination.k8s.io/v1/namespaces/${systemNamespace}/leases`,
        labelSelector,
        list: () => kube.coordination.listNamespacedLease({ namespace: systemNamespace, labelSelector }),
        handlers,
      }),
    ]);
  }

  start(): this {
    for (const feed of this.feeds) feed.start();
    return this;
  }

  /** Stops watching; the listeners are the caller's to close. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await Promise.all(this.feeds.map((f) => f.stop()));
    await this.applied;
  }

  get synced(): boolean {
    return allSynced(this.feeds);
  }

  /** Resolves once the Leases were listed and the listeners reconciled to them. */
  async whenSynced(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.whenSynced()));
    await this.applied;
  }

  private handlers(): ListWatchHandlers<V1Lease> {
    const name = (lease: V1Lease): string => lease.metadata?.name ?? '';
    return {
      replace: (items) => {
        this.leases.clear();
        for (const item of items) this.leases.set(name(item), item);
        this.apply();
      },
      upsert: (item) => {
        this.leases.set(name(item), item);
        this.apply();
      },
      remove: (item) => {
        this.leases.delete(name(item));
        this.apply();
      },
    };
  }

  private apply(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    const { ports, invalid } = portTargets(this.leases.values());
    this.report(invalid);
    const { listeners, log, metrics } = this.options;
    this.applied = listeners.reconcile(ports).then((report) => {
      metrics.listeners.set(listeners.ports().length);
      if (report.opened.length > 0 || report.closed.length > 0)
        log.info({ opened: report.opened, closed: report.closed }, 'takeover ports reconciled');
      if (report.failed.length === 0 || this.stopped) return;
      log.warn(
        { failed: report.failed.map((f) => ({ port: f.port, code: f.code, err: f.error.message })) },
        `takeover ports could not be bound; trying again in ${BIND_RETRY_MS} ms`,
      );
      this.retry = setTimeout(() => this.apply(), BIND_RETRY_MS);
    });
  }

  private report(invalid: readonly InvalidLease[]): void {
    this.options.metrics.invalidLeases.set(invalid.length);
    const now = new Set(invalid.map((i) => `${i.lease}: ${i.reason}`));
    for (const i of invalid) {
      if (!this.logged.has(`${i.lease}: ${i.reason}`))
        this.options.log.warn(
          { lease: i.lease, reason: i.reason },
          'port Lease skipped: not a valid assignment',
        );
    }
    this.logged = now;
  }
}
