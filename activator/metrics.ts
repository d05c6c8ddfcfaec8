/** The activator's Prometheus metrics, all under `nozzle_activator_`. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConnectionKind } from './sniff.js';

/** How a connection was classified: what sniff.ts said, or `ready` when its Service was ready on accept (not sniffed). */
export type ConnectionClass = ConnectionKind | 'ready';

/** How the activator was done with a connection. */
export type ConnectionOutcome =
  /** Handed to a ready pod. */
  | 'spliced'
  /** Answered by the page server (waiting page, /_nozzle/status). */
  | 'page'
  /** A health checker's User-Agent: 200 without a wake. */
  | 'ignored'
  /** Closed without a byte: no wake. */
  | 'closed-silent'
  /** Over NOZZLE_HOLD_LIMIT (this namespace) or NOZZLE_HOLD_BUDGET (all together). */
  | 'hold-limit'
  | 'hold-budget'
  /** Its wake was refused by NOZZLE_WAKE_MIN_INTERVAL or NOZZLE_WAKE_RATE: nothing started. */
  | 'wake-limit'
  /** A crawler's User-Agent (NOZZLE_ACTIVATOR_BOT_AGENTS): 503, no wake. */
  | 'bot'
  /** Began a protocol's opening (an HTTP request line, a TLS record) and did not finish it within the header timeout: closed. */
  | 'header-timeout'
  /** No ready endpoint within the readiness timeout. */
  | 'timeout'
  | 'wake-failed'
  /** A head the activator refused: malformed (400), too large (431), too slow (408). */
  | 'bad-request'
  /** Every ready pod refused the connection. */
  | 'upstream-error'
  /** The client went away while held or before its head was complete. */
  | 'client-gone';

/** Why the activator refused a connection or a wake (each a bound of docs/activator.md, "Bounds"). */
export type Refusal = 'hold-limit' | 'hold-budget' | 'wake-interval' | 'wake-rate' | 'bot' | 'header-timeout';

export interface ActivatorMetrics {
  readonly wakes: Counter<'result'>;
  readonly wakeDuration: Histogram;
  readonly restoredWorkloads: Counter;
  readonly lostWakePaths: Counter<'cause'>;
  readonly connections: Counter<'kind' | 'outcome'>;
  readonly held: Gauge;
  readonly holdBudgetUsed: Gauge;
  readonly refusals: Counter<'reason'>;
  readonly readyToForward: Histogram;
  readonly listeners: Gauge;
  readonly invalidLeases: Gauge;
  connection(kind: ConnectionClass, outcome: ConnectionOutcome): void;
  refused(reason: Refusal): void;
}

export function createActivatorMetrics(registry: Registry): ActivatorMetrics {
  const registers = [registry];
  const connections = new Counter({
    name: 'nozzle_activator_connections_total',
    help: 'Connections accepted on takeover ports, by kind (ready, http1, tls, http2-prior-knowledge, other, silent, closed-silent) and outcome',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const refusals = new Counter({
    name: 'nozzle_activator_refusals_total',
    help: 'Connections and wakes refused by a bound, by reason: hold-limit, hold-budget, wake-interval, wake-rate, bot, header-timeout',
    labelNames: ['reason'],
    registers,
  });
  return {
    wakes: new Counter({
      name: 'nozzle_activator_wakes_total',
      help: 'Wakes this activator ran, by result (ready, failed)',
      labelNames: ['result'],
      registers,
    }),
    wakeDuration: new Histogram({
      name: 'nozzle_activator_wake_duration_seconds',
      help: 'From the first connection for a sleeping namespace to its backends being Ready',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300],
      registers,
    }),
    restoredWorkloads: new Counter({
      name: 'nozzle_activator_restored_workloads_total',
      help: 'Deployments and StatefulSets whose replicas this activator restored (another replica may have restored the rest)',
      registers,
    }),
    lostWakePaths: new Counter({
      name: 'nozzle_activator_lost_wake_paths_total',
      help: 'Namespaces the convergence leader woke because a sleeping workload had lost its wake path, by cause: no-takeover (a Service, or one of its ports, without takeover) or opted-out (the namespace opted out while asleep)',
      labelNames: ['cause'],
      registers,
    }),
    connections,
    held: new Gauge({
      name: 'nozzle_activator_held_connections',
      help: 'Connections waiting for their Service to have a ready endpoint',
      registers,
    }),
    holdBudgetUsed: new Gauge({
      name: 'nozzle_activator_hold_budget_used_bytes',
      help: 'What held connections are charged against NOZZLE_HOLD_BUDGET: a per-connection estimate plus their buffered bytes',
      registers,
    }),
    refusals,
    readyToForward: new Histogram({
      name: 'nozzle_activator_ready_to_forward_seconds',
      help: "From a held connection's Service having a ready endpoint (as the EndpointSlice watch told) to its connection to the pod being open",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    listeners: new Gauge({
      name: 'nozzle_activator_listeners',
      help: 'Takeover ports listening (one per port Lease)',
      registers,
    }),
    invalidLeases: new Gauge({
      name: 'nozzle_activator_invalid_port_leases',
      help: 'Port Leases skipped because they do not read as an assignment (the log says why)',
      registers,
    }),
    connection: (kind, outcome) => connections.inc({ kind, outcome }),
    refused: (reason) => refusals.inc({ reason }),
  };
}
