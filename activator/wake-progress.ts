/**
 * The progress a wake shows on the waiting page and in /_nozzle/status: each
 * workload of the namespace with its ready and desired replicas, from watches
 * of the namespace's Deployments and StatefulSets (never polling). Readiness
 * of Services is not decided here: that is the endpoint index's.
 */
import type { KubeConfig, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { annotations } from '../lib/names.js';
import type { WorkloadProgress } from '../rescaler-web/status.js';
import { ListWatch, type ListWatchHandlers } from '../lib/kube/list-watch.js';

type Workload = V1Deployment | V1StatefulSet;

/** What a wake needs of its progress (tests give it fakes). */
export interface Progress {
  workloads(): WorkloadProgress[];
  /** Whether a workload is asleep (at 0 with its backup): a sleep raced the wake. */
  sleeping?(): boolean;
  /** Called on every workload change; returns the unsubscribe. */
  onChange?(listener: () => void): () => void;
  stop(): Promise<void>;
}

/** Pure: at 0 replicas with Nozzle's backup, i.e. put to sleep. */
export const isSleeping = (w: Workload): boolean =>
  w.spec?.replicas === 0 && w.metadata?.annotations?.[annotations.replicas] !== undefined;

/** Pure: desired is `nozzle.io/replicas` while the workload still sleeps, else spec.replicas; workloads at 0 are left out. */
export function workloadProgress(
  deployments: Iterable<V1Deployment>,
  statefulSets: Iterable<V1StatefulSet>,
): WorkloadProgress[] {
  const out: WorkloadProgress[] = [];
  const add = (kind: WorkloadProgress['kind'], w: Workload): void => {
    const recorded = Number(w.metadata?.annotations?.[annotations.replicas]);
    const desired = Number.isInteger(recorded) && recorded > 0 ? recorded : (w.spec?.replicas ?? 1);
    if (desired <= 0) return;
    out.push({ kind, name: w.metadata?.name ?? '', ready: w.status?.readyReplicas ?? 0, desired });
  };
  for (const d of deployments) add('Deployment', d);
  for (const s of statefulSets) add('StatefulSet', s);
  return out.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

export class WorkloadWatch implements Progress {
  private readonly deployments = new Map<string, V1Deployment>();
  private readonly statefulSets = new Map<string, V1StatefulSet>();
  private readonly watches: ListWatch<Workload>[];
  private readonly listeners = new Set<() => void>();

  constructor(options: { kube: Kube; config: KubeConfig; log: Logger; namespace: string }) {
    const { kube, config, log, namespace } = options;
    this.watches = [
      new ListWatch<V1Deployment>({
        config,
        log,
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        list: () => kube.apps.listNamespacedDeployment({ namespace }),
        handlers: handlers(this.deployments, () => this.changed()),
      }),
      new ListWatch<V1StatefulSet>({
        config,
        log,
        path: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
        list: () => kube.apps.listNamespacedStatefulSet({ namespace }),
        handlers: handlers(this.statefulSets, () => this.changed()),
      }),
    ] as ListWatch<Workload>[];
    for (const watch of this.watches) watch.start();
  }

  workloads(): WorkloadProgress[] {
    return workloadProgress(this.deployments.values(), this.statefulSets.values());
  }

  sleeping(): boolean {
    return [...this.deployments.values(), ...this.statefulSets.values()].some(isSleeping);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }
}

function handlers<T extends Workload>(map: Map<string, T>, changed: () => void): ListWatchHandlers<T> {
  const name = (o: T): string => o.metadata?.name ?? '';
  return {
    replace: (items) => {
      map.clear();
      for (const item of items) map.set(name(item), item);
      changed();
    },
    upsert: (item) => {
      map.set(name(item), item);
      changed();
    },
    remove: (item) => {
      map.delete(name(item));
      changed();
    },
  };
}
