/** The settings of `nozzle activator` only; the shared ones are in lib/config/nozzle.ts. */
import { duration, integer, keyValues, string } from '../lib/config/settings.js';

export const activatorSettings = {
  port: integer({
    env: 'NOZZLE_ACTIVATOR_PORT',
    flag: '--port',
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'port of the data path, /_nozzle/, /healthz, /readyz and /metrics',
  }),
  readinessTimeout: duration({
    env: 'NOZZLE_READINESS_TIMEOUT',
    default: 120_000,
    min: 1_000,
    doc: 'how long a wake may take, from its first request until every backend Service has a ready endpoint; then held requests get 504 saying what was not ready',
  }),
  holdLimit: integer({
    env: 'NOZZLE_HOLD_LIMIT',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'held requests per namespace; past it requests get 503 with Retry-After',
  }),
  wakeGrace: duration({
    env: 'NOZZLE_WAKE_GRACE',
    default: 120_000,
    min: 0,
    doc: 'after a wake, how long requests still reaching the activator (stale ingress config) are forwarded',
  }),
  shutdownTimeout: duration({
    env: 'NOZZLE_ACTIVATOR_SHUTDOWN_TIMEOUT',
    default: 30_000,
    min: 1_000,
    doc: 'on SIGTERM, how long held and in-flight requests may take to finish',
  }),
  listenAddress: string({
    env: 'NOZZLE_ACTIVATOR_LISTEN_ADDRESS',
    flag: '--listen-address',
    default: '0.0.0.0',
    doc: 'address the activator listens on (0.0.0.0 for all IPv4 interfaces, :: for all interfaces)',
  }),
  retryAfter: duration({
    env: 'NOZZLE_RETRY_AFTER',
    default: 5_000,
    min: 1_000,
    doc: "the Retry-After of the activator's 503 answers to API clients (over the hold limit, shutting down); rounded up to whole seconds. The waiting page sends its own refresh interval",
  }),
  clusterDomain: string({
    env: 'NOZZLE_CLUSTER_DOMAIN',
    default: 'cluster.local',
    doc: 'cluster DNS domain of upstream addresses: <service>.<namespace>.svc.<domain>:<port>',
  }),
  upstreamConnections: integer({
    env: 'NOZZLE_UPSTREAM_CONNECTIONS',
    default: 128,
    min: 1,
    max: 10_000,
    doc: 'most open connections from one activator to one backend (host:port); further requests queue in the pool',
  }),
  upstreamTimeout: duration({
    env: 'NOZZLE_UPSTREAM_TIMEOUT',
    default: 300_000,
    min: 1_000,
    doc: "how long a forwarded request may wait for the backend's response headers, and the longest pause between body chunks, before 504",
  }),
  devUpstreams: keyValues({
    env: 'NOZZLE_DEV_UPSTREAM_OVERRIDES',
    default: new Map(),
    doc: 'DEV ONLY: namespace/service=host:port pairs that replace <service>.<namespace>.svc.cluster.local, for demos and tests without cluster DNS',
    check: (key, value) => {
      if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(key)) throw new Error(`"${key}" is not namespace/service`);
      if (!/^[^:/\s]+:\d+$/.test(value)) throw new Error(`"${value}" is not host:port`);
    },
  }),
  leaderLeaseDuration: duration({
    env: 'NOZZLE_LEADER_LEASE_DURATION',
    default: 15_000,
    min: 1_000,
    doc: 'convergence leader election (Lease nozzle-system/nozzle-activator-leader): how long a leader that stopped renewing keeps the Lease before another replica takes it',
  }),
  leaderRenewDeadline: duration({
    env: 'NOZZLE_LEADER_RENEW_DEADLINE',
    default: 10_000,
    min: 1_000,
    doc: 'convergence leader election: a leader that could not renew its Lease for this long stops acting as leader (shorter than the lease duration)',
  }),
  leaderRetryPeriod: duration({
    env: 'NOZZLE_LEADER_RETRY_PERIOD',
    default: 2_000,
    min: 100,
    doc: 'convergence leader election: how often the leader renews its Lease and the other replicas try to take it',
  }),
  takeoverSettle: duration({
    env: 'NOZZLE_TAKEOVER_SETTLE',
    default: 60_000,
    min: 0,
    doc: 'a takeover slice younger than this (since the worker last ensured it) is never removed by the convergence leader, even when its Service has ready endpoints of its own: the sleep may still be scaling the workload down',
  }),
  convergenceResync: duration({
    env: 'NOZZLE_CONVERGENCE_RESYNC',
    default: 60_000,
    min: 1_000,
    doc: 'how often the convergence leader re-checks everything (takeover slices, port Leases, 0.1 leftovers) besides reacting to changes',
  }),
};
