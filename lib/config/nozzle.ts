/**
 * Every setting of every Nozzle component, in one place: env var, flag,
 * default and what it is for. `nozzle <component> --help` prints these and
 * docs/configuration.md is the same table in prose.
 */
import { duration, integer, keyValues, labelSelector, oneOf, string, url } from './settings.js';

export const common = {
  logLevel: oneOf({
    env: 'LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    doc: 'how much to log: trace, debug, info, warn, error, fatal or silent',
  }),
  logFormat: oneOf({
    env: 'LOG_FORMAT',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    doc: 'json: one JSON object per line; pretty: for a person (needs the pino-pretty package, a dev dependency); auto: pretty when stdout is a terminal and pino-pretty is installed, else json',
  }),
};

export const nats = {
  natsUrl: url({
    env: 'NATS_URL',
    flag: '--nats-url',
    default: 'nats://nats.nozzle-system.svc.cluster.local:4222',
    protocols: ['nats:', 'tls:'],
    doc: 'NATS server(s), comma-separated',
  }),
};

/** The JetStream stream and consumer, created by `nozzle setup` and the publisher. */
export const stream = {
  ackWait: duration({
    env: 'NOZZLE_ACK_WAIT',
    default: 60_000,
    min: 1_000,
    doc: 'how long a delivered message may stay unacknowledged before JetStream redelivers it (the worker extends it while an operation runs)',
  }),
  maxDeliver: integer({
    env: 'NOZZLE_MAX_DELIVER',
    default: 10,
    min: 1,
    max: 1000,
    doc: 'deliveries before a message is dead-lettered',
  }),
  duplicateWindow: duration({
    env: 'NOZZLE_DUPLICATE_WINDOW',
    default: 10 * 60_000,
    min: 1_000,
    doc: 'window in which a re-published decision (same Nats-Msg-Id) is dropped as a duplicate',
  }),
  maxAge: duration({
    env: 'NOZZLE_STREAM_MAX_AGE',
    default: 24 * 3_600_000,
    min: 60_000,
    doc: 'how long an unprocessed message is kept in NOZZLE (older ones are discarded: the next publisher round decides again)',
  }),
  deadLetterMaxAge: duration({
    env: 'NOZZLE_DLQ_MAX_AGE',
    default: 7 * 86_400_000,
    min: 60_000,
    doc: 'how long dead letters are kept in NOZZLE_DLQ for a person to inspect',
  }),
  replicas: integer({
    env: 'NOZZLE_STREAM_REPLICAS',
    default: 1,
    min: 1,
    max: 5,
    doc: 'JetStream replicas of NOZZLE and NOZZLE_DLQ (3 on a clustered NATS)',
  }),
};

/**
 * Which namespaces Nozzle may touch: the publisher lists them with these, and
 * the worker refuses a message for any other namespace (NATS has no
 * authentication inside the cluster: a forged message must not reach
 * kube-system).
 */
export const optIn = {
  namespaceSelector: labelSelector({
    env: 'NOZZLE_NAMESPACE_SELECTOR',
    flag: '--selector',
    default: 'nozzle=true',
    doc: 'label selector (=, ==, !=, in, notin, key, !key; comma = and) of the namespaces Nozzle may put to sleep; the worker refuses (dead-letters) messages for any other namespace',
  }),
  systemNamespace: string({
    env: 'NOZZLE_SYSTEM_NAMESPACE',
    default: 'nozzle-system',
    doc: "Nozzle's own namespace: never put to sleep or woken, even when it matches the selector",
  }),
};

export const publisher = {
  idleAfter: duration({
    env: 'NOZZLE_IDLE_AFTER',
    flag: '--idle-after',
    default: 30 * 60_000,
    min: 1_000,
    doc: 'default time awake before a namespace sleeps, when it has no nozzle.io/idle-after annotation',
  }),
  interval: duration({
    env: 'NOZZLE_PUBLISH_INTERVAL',
    flag: '--interval',
    default: 0,
    doc: 'run in a loop with this pause between rounds; 0 runs once and exits (the CronJob way)',
  }),
  pageSize: integer({
    env: 'NOZZLE_LIST_PAGE_SIZE',
    default: 500,
    min: 1,
    max: 5000,
    doc: 'objects per page of the cluster-wide list calls',
  }),
};

export const worker = {
  port: integer({
    env: 'NOZZLE_WORKER_PORT',
    flag: '--port',
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'port of /healthz, /readyz and /metrics',
  }),
  concurrency: integer({
    env: 'NOZZLE_WORKER_CONCURRENCY',
    flag: '--concurrency',
    default: 4,
    min: 1,
    max: 256,
    doc: 'messages processed at once by one worker',
  }),
  shutdownTimeout: duration({
    env: 'NOZZLE_WORKER_SHUTDOWN_TIMEOUT',
    default: 45_000,
    min: 1_000,
    doc: 'on SIGTERM, how long in-flight operations may take to finish (keep below the pod terminationGracePeriodSeconds)',
  }),
  retryDelay: duration({
    env: 'NOZZLE_WORKER_RETRY_DELAY',
    default: 2_000,
    min: 100,
    doc: 'first delay before a message that failed transiently is redelivered; doubles per delivery',
  }),
  retryDelayMax: duration({
    env: 'NOZZLE_WORKER_RETRY_DELAY_MAX',
    default: 5 * 60_000,
    min: 100,
    doc: 'longest delay before a message that failed transiently is redelivered',
  }),
  operationTimeout: duration({
    env: 'NOZZLE_WORKER_OPERATION_TIMEOUT',
    default: 40_000,
    min: 1_000,
    doc: 'an operation still running after this is given up and retried later (each step is idempotent); must be shorter than NOZZLE_WORKER_SHUTDOWN_TIMEOUT, so that shutdown never cuts one short',
  }),
  activatorService: string({
    env: 'NOZZLE_ACTIVATOR_SERVICE',
    default: 'nozzle-activator.nozzle-system.svc.cluster.local',
    doc: 'in-cluster DNS name of the activator Service (port 80); the nozzle-activator route Service in a sleeping namespace is an ExternalName to it',
  }),
};

export const activator = {
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
};
