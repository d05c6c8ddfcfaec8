/**
 * What a wake waits on, from watches (never polling) scoped to one namespace:
 * EndpointSlices (discovery.k8s.io/v1) say which Services have ready
 * endpoints; Deployments and StatefulSets give the progress the waiting page
 * shows (ready / desired replicas).
 */
import type { KubeConfig, V1Deployment, V1EndpointSlice, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { annotations } from '../lib/names.js';
import type { WorkloadProgress } from '../rescaler-web/status.js';
import { ListWatch, type ListWatchHandlers } from './list-watch.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface NamespaceReadinessOptions {
  readonly kube: Kube;
  readonly config: KubeConfig;
  readonly log: Logger;
  readonly namespace: string;
  /** Called (synchronously, from the watch event) whenever readiness or progress may have changed. */
  readonly onChange: () => void;
}

type Workload = V1Deployment | V1StatefulSet;

export class NamespaceReadiness {
  private readonly slices = new Map<string, V1EndpointSlice>();
  private readonly deployments = new Map<string, V1Deployment>();
  private readonly statefulSets = new Map<string, V1StatefulSet>();
  private readonly watches: ListWatch<V1EndpointSlice | Workload>[];

  constructor(private readonly options: NamespaceReadinessOptions) {
    const { kube, config, namespace } = options;
    const log = options.log.child({ namespace });
    this.watches = [
      new ListWatch<V1EndpointSlice>({
        config,
        log,
        path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        list: () => kube.discovery.listNamespacedEndpointSlice({ namespace }),
        handlers: this.handlers(this.slices),
      }),
      new ListWatch<V1Deployment>({
        config,
        log,
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        list: () => kube.apps.listNamespacedDeployment({ namespace }),
        handlers: this.handlers(this.deployments),
      }),
      new ListWatch<V1StatefulSet>({
        config,
        log,
        path: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
        list: () => kube.apps.listNamespacedStatefulSet({ namespace }),
        handlers: this.handlers(this.statefulSets),
      }),
    ] as ListWatch<V1EndpointSlice | Workload>[];
  }

  start(): this {
    for (const watch of this.watches) watch.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  /** Whether every watch has listed once (before that, "not ready" may just mean "not known yet"). */
  get synced(): boolean {
    return this.watches.every((w) => w.synced);
  }

  /** A Service is ready when one of its EndpointSlices has an endpoint whose `ready` is not false. */
  isReady(service: string): boolean {
    for (const slice of this.slices.values()) {
      if (slice.metadata?.labels?.[SERVICE_NAME_LABEL] !== service) continue;
      // `ready` unset means ready (discovery.k8s.io/v1 EndpointConditions).
      if (slice.endpoints?.some((e) => e.conditions?.ready !== false)) return true;
    }
    return false;
  }

  /** Each workload being woken: desired is `nozzle.io/replicas` while it still sleeps, else spec.replicas. */
  workloads(): WorkloadProgress[] {
    const out: WorkloadProgress[] = [];
    const add = (kind: WorkloadProgress['kind'], w: Workload): void => {
      const recorded = Number(w.metadata?.annotations?.[annotations.replicas]);
      const desired = Number.isInteger(recorded) && recorded > 0 ? recorded : (w.spec?.replicas ?? 1);
      if (desired <= 0) return;
      out.push({ kind, name: w.metadata?.name ?? '', ready: w.status?.readyReplicas ?? 0, desired });
    };
    for (const d of this.deployments.values()) add('Deployment', d);
    for (const s of this.statefulSets.values()) add('StatefulSet', s);
    return out.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  }

  private handlers<T extends V1EndpointSlice | Workload>(map: Map<string, T>): ListWatchHandlers<T> {
    const name = (o: T): string => o.metadata?.name ?? '';
    return {
      replace: (items) => {
        map.clear();
        for (const item of items) map.set(name(item), item);
        this.options.onChange();
      },
      upsert: (item) => {
        map.set(name(item), item);
        this.options.onChange();
      },
      remove: (item) => {
        map.delete(name(item));
        this.options.onChange();
      },
    };
  }
}
