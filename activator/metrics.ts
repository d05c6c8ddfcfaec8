/** The activator's Prometheus metrics, all under `nozzle_activator_`. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RejectReason =
  | 'unknown_host'
  | 'hold_limit'
  | 'readiness_timeout'
  | 'wake_failed'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'shutting_down'
  | 'bad_request';

export interface ActivatorMetrics {
  readonly wakes: Counter<'result'>;
  readonly wakeDuration: Histogram;
  readonly restoredWorkloads: Counter;
  readonly held: Gauge;
  readonly forwarded: Counter<'class' | 'cold_start'>;
  readonly rejected: Counter<'reason'>;
  readonly routes: Gauge<'state'>;
  readonly rejectedRoutes: Gauge<'reason'>;
  readonly indexSynced: Gauge;
  reject(reason: RejectReason): void;
}

export function createActivatorMetrics(registry: Registry): ActivatorMetrics {
  const registers = [registry];
  const wakes = new Counter({
    name: 'nozzle_activator_wakes_total',
    help: 'Wakes this activator ran, by result (ready, failed)',
    labelNames: ['result'],
    registers,
  });
  const rejected = new Counter({
    name: 'nozzle_activator_rejected_requests_total',
    help: 'Requests answered by the activator itself with an error, by reason',
    labelNames: ['reason'],
    registers,
  });
  return {
    wakes,
    wakeDuration: new Histogram({
      name: 'nozzle_activator_wake_duration_seconds',
      help: 'From the first request for a sleeping namespace to its backends being Ready',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300],
      registers,
    }),
    restoredWorkloads: new Counter({
      name: 'nozzle_activator_restored_workloads_total',
      help: 'Deployments and StatefulSets whose replicas this activator restored (another replica may have restored the rest)',
      registers,
    }),
    held: new Gauge({
      name: 'nozzle_activator_held_requests',
      help: 'Requests waiting for a waking backend to become Ready',
      registers,
    }),
    forwarded: new Counter({
      name: 'nozzle_activator_forwarded_requests_total',
      help: 'Requests forwarded to a backend, by response status class; cold_start="true" for those that waited for a wake',
      labelNames: ['class', 'cold_start'],
      registers,
    }),
    rejected,
    routes: new Gauge({
      name: 'nozzle_activator_routes',
      help: 'Host + path routes in the index: sleeping, or in their grace period after a wake',
      labelNames: ['state'],
      registers,
    }),
    rejectedRoutes: new Gauge({
      name: 'nozzle_activator_rejected_routes',
      help: 'nozzle.io/backends records the index refuses: unrouted (the Ingress spec does not route them to nozzle-activator), conflict (several namespaces claim the host + path)',
      labelNames: ['reason'],
      registers,
    }),
    indexSynced: new Gauge({
      name: 'nozzle_activator_index_synced',
      help: '1 once the Ingress index has listed the managed Ingresses',
      registers,
    }),
    reject: (reason) => rejected.inc({ reason }),
  };
}

/** `204` -> `2xx`. */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;
