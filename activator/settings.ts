/** The settings of `nozzle activator` only; the shared ones are in lib/config/nozzle.ts. */
import { optIn } from '../lib/config/nozzle.js';
import {
  ConfigError,
  boolean,
  byteSize,
  duration,
  integer,
  secret,
  string,
  type Setting,
} from '../lib/config/settings.js';
import { DEFAULT_BOT_AGENTS } from './bot-agents.js';
import { DEFAULT_IGNORED_AGENTS } from './ignored-agents.js';
import { HELD_CONNECTION_BYTES } from './hold-budget.js';
import { MIN_WAKE_SECRET_LENGTH, WAKE_TOKEN_TTL_MS } from './wake-token.js';

/** Comma-separated regular expressions, each checked at start-up. */
function regexList(spec: Omit<Setting<readonly RegExp[]>, 'parse' | 'show'>): Setting<readonly RegExp[]> {
  return {
    ...spec,
    parse: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((source) => {
          try {
            return new RegExp(source, 'i');
          } catch (err) {
            throw new Error(`"${source}" is not a regular expression: ${(err as Error).message}`, {
              cause: err,
            });
          }
        }),
    show: (v) => v.map((r) => r.source).join(','),
  };
}

export const activatorSettings = {
  port: integer({
    env: 'NOZZLE_ACTIVATOR_PORT',
    flag: '--port',
    default: 8080,
    min: 0,
    max: 65535,
    doc: "the admin port: /healthz, /readyz and /metrics only (never in a takeover slice; the data path listens on the port Leases' ports)",
  }),
  readinessTimeout: duration({
    env: 'NOZZLE_READINESS_TIMEOUT',
    default: 120_000,
    min: 1_000,
    doc: 'how long a held connection waits for its Service to have a ready endpoint of its own; then HTTP gets 504 (the log says what was not ready), anything else is closed',
  }),
  holdLimit: integer({
    env: 'NOZZLE_HOLD_LIMIT',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'held connections per namespace; past it HTTP gets 503 with Retry-After, anything else is closed',
  }),
  holdBudget: byteSize({
    env: 'NOZZLE_HOLD_BUDGET',
    default: 64 * 1024 ** 2,
    min: 1024 * 1024,
    max: 64 * 1024 ** 3,
    doc: `what held connections may cost in all, every namespace together: each is charged ${HELD_CONNECTION_BYTES / 1024} KiB (measured) plus the bytes it has buffered (64 KiB at most); past it the next connection is refused like over NOZZLE_HOLD_LIMIT (HTTP 503 with Retry-After, anything else closed)`,
  }),
  wakeMinInterval: duration({
    env: 'NOZZLE_WAKE_MIN_INTERVAL',
    default: 5_000,
    min: 0,
    doc: 'at most one new wake per namespace per this interval on each replica (a wake in progress or just finished is shared anyway: this bounds failed and repeated ones); a connection whose wake is refused gets 503 with Retry-After (HTTP) or is closed, and starts nothing',
  }),
  wakeRate: integer({
    env: 'NOZZLE_WAKE_RATE',
    default: 20,
    min: 1,
    max: 100_000,
    doc: 'new wakes per second on each replica, every namespace together (a token bucket, burst NOZZLE_WAKE_BURST); past it a connection that would start a wake gets 503 with Retry-After (HTTP) or is closed',
  }),
  wakeBurst: integer({
    env: 'NOZZLE_WAKE_BURST',
    default: 40,
    min: 1,
    max: 100_000,
    doc: 'how many wakes may start at once before NOZZLE_WAKE_RATE applies',
  }),
  verifiedWake: boolean({
    env: 'NOZZLE_VERIFIED_WAKE',
    default: false,
    doc: `when true, a browser's first request gets the waiting page without a wake: the page's script confirms with a signed token (HMAC with NOZZLE_WAKE_SECRET, this namespace, ${WAKE_TOKEN_TTL_MS / 60_000} min) at /_nozzle/wake, which starts the wake; for public preview hosts that crawlers hit. Requests that are not browser navigations are held and wake as before`,
  }),
  wakeSecret: secret({
    env: 'NOZZLE_WAKE_SECRET',
    doc: `the key that signs verified-wake tokens (at least ${MIN_WAKE_SECRET_LENGTH} characters, the same on every replica); required when NOZZLE_VERIFIED_WAKE is true`,
  }),
  wakeGrace: duration({
    env: 'NOZZLE_WAKE_GRACE',
    default: 120_000,
    min: 0,
    doc: "after a wake, how long its finished status is kept for the waiting page's polls (connections for a Service with ready pods of its own are spliced at once, whenever they come)",
  }),
  shutdownTimeout: duration({
    env: 'NOZZLE_ACTIVATOR_SHUTDOWN_TIMEOUT',
    default: 30_000,
    min: 1_000,
    doc: 'on SIGTERM, how long held and spliced connections may take to finish',
  }),
  listenAddress: string({
    env: 'NOZZLE_ACTIVATOR_LISTEN_ADDRESS',
    flag: '--listen-address',
    default: '0.0.0.0',
    doc: 'address the activator listens on, admin and takeover ports (0.0.0.0 for all IPv4 interfaces, :: for all interfaces)',
  }),
  retryAfter: duration({
    env: 'NOZZLE_RETRY_AFTER',
    default: 5_000,
    min: 1_000,
    doc: "the Retry-After of the activator's 503 answers (over the hold limit or budget, bots; a wake refused by a rate limit says when it may start, at least this); rounded up to whole seconds. The waiting page sends its own refresh interval",
  }),
  silentDelay: duration({
    env: 'NOZZLE_ACTIVATOR_SILENT_DELAY',
    default: 250,
    min: 10,
    doc: 'how long a new connection may stay open without sending before it counts as a server-speaks-first protocol (MySQL, SMTP) and wakes the namespace',
  }),
  headerTimeout: duration({
    env: 'NOZZLE_ACTIVATOR_HEADER_TIMEOUT',
    default: 10_000,
    min: 100,
    doc: 'how long a new connection may take, from accept, to send a whole HTTP/1.x request head (16 KiB at most; then 408), or to finish the opening of any protocol it began (then closed): slowloris connections are closed, not held',
  }),
  ignoredAgents: regexList({
    env: 'NOZZLE_ACTIVATOR_IGNORED_AGENTS',
    default: DEFAULT_IGNORED_AGENTS,
    doc: 'comma-separated regular expressions (case-insensitive) of User-Agents answered 200 without a wake: load-balancer health checkers, which would mark every node unhealthy on a 5xx and keep a namespace awake forever',
  }),
  botAgents: regexList({
    env: 'NOZZLE_ACTIVATOR_BOT_AGENTS',
    default: DEFAULT_BOT_AGENTS,
    doc: 'comma-separated regular expressions (case-insensitive) of User-Agents answered 503 with Retry-After and no wake: crawlers and link previewers (health checkers keep their 200)',
  }),
  connectTimeout: duration({
    env: 'NOZZLE_UPSTREAM_CONNECT_TIMEOUT',
    default: 5_000,
    min: 100,
    doc: 'how long connecting to a ready pod may take before the next ready pod is tried',
  }),
  spliceIdleTimeout: duration({
    env: 'NOZZLE_SPLICE_IDLE_TIMEOUT',
    default: 3_600_000,
    min: 1_000,
    doc: 'a spliced connection without a byte either way for this long is closed',
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

/**
 * What `nozzle activator` reads: its own settings, Nozzle's namespace (where
 * the port Leases are) and the opt-in selector (the leader wakes a namespace
 * that opted out while asleep).
 */
export const activatorCommandSettings = {
  systemNamespace: optIn.systemNamespace,
  namespaceSelector: optIn.namespaceSelector,
  ...activatorSettings,
};

/** Checks that span settings: a verified wake needs its secret. */
export function validateActivatorSettings(config: {
  readonly verifiedWake: boolean;
  readonly wakeSecret: string;
}): void {
  if (!config.verifiedWake) return;
  if (config.wakeSecret.length < MIN_WAKE_SECRET_LENGTH) {
    throw new ConfigError([
      {
        setting: 'NOZZLE_WAKE_SECRET',
        reason: `required when NOZZLE_VERIFIED_WAKE is true: at least ${MIN_WAKE_SECRET_LENGTH} characters, the same on every activator replica (e.g. a Secret with \`openssl rand -hex 32\`)`,
      },
    ]);
  }
}
