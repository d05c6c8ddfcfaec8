/**
 * One publisher round: take the inventory, ask the traffic source once, decide,
 * publish one sleep message per due workload and one wake message per
 * namespace whose wake schedule fired, and report. A message that could not
 * be published is counted as failed (the next round decides again); the
 * round goes on with the others. When the traffic source cannot be read,
 * nothing is put to sleep this round (scheduled wakes still go out). The
 * savings are measured from the same inventory (publisher/savings-meter.ts).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { decisionId, encodeMessage, sleepMessage, subjectOf, wakeMessage } from '../lib/messages.js';
import { TRAFFIC_NOT_COUNTED, type Traffic } from './activity.js';
import { lastRequests, type ActivityQuery, type QueryWindow } from './activity-query.js';
import { takeInventory } from './inventory.js';
import type { PublisherMetrics } from './metrics.js';
import { readNamespacePolicy } from './namespace-annotations.js';
import { decide, type NamespaceFacts, type SkipCategory } from './policy.js';
import { ActivityUnavailableError, queryActivity } from './prometheus.js';
import type { SavedNow, SavingsMeter } from './savings-meter.js';

export interface ActivitySource {
  readonly url: string;
  /** `traefik`, ..., or `custom`: for the logs. */
  readonly name: string;
  readonly query: (window: QueryWindow) => ActivityQuery;
  readonly timeout: number;
  readonly fetch?: typeof fetch;
}

export interface RoundOptions {
  readonly selector: string;
  readonly pageSize: number;
  readonly defaultIdleAfter: number;
  readonly systemNamespace: string;
  readonly period: number;
  readonly activity?: ActivitySource;
  readonly metrics?: PublisherMetrics;
  /** Kept across the rounds of one process: the counters summed over time. */
  readonly savings?: SavingsMeter;
  readonly now?: Date;
}

export interface RoundReport {
  readonly namespaces: number;
  readonly workloads: number;
  readonly due: number;
  /** Scheduled wakes due this round. */
  readonly wakes: number;
  /** Stored by JetStream as new messages. */
  readonly published: number;
  /** Dropped by JetStream as re-publications of a decision already queued (same Nats-Msg-Id). */
  readonly duplicates: number;
  readonly failed: number;
  readonly skipped: Readonly<Record<SkipCategory, number>>;
  readonly listCalls: number;
  /** Queries to the traffic source: 0 or 1, whatever the number of namespaces. */
  readonly queryCalls: number;
  /** `counted`, `not counted` (no source) or `unavailable: <why>` (nothing put to sleep). */
  readonly traffic: string;
  /** Requests not running because of Nozzle, at this round (CPU cores, memory bytes, and summed over the current sleeps). */
  readonly saved?: SavedNow;
}

/** Publishes at most this many at once, each waiting for its PubAck. */
const PUBLISH_BATCH = 64;

export async function publishRound(
  kube: Kube,
  js: JetStreamClient,
  log: Logger,
  options: RoundOptions,
): Promise<RoundReport> {
  const now = options.now ?? new Date();
  const inventory = await takeInventory(kube, options.selector, options.pageSize);
  let queryCalls = 0;
  let traffic: Traffic = TRAFFIC_NOT_COUNTED;
  if (options.activity !== undefined && inventory.namespaces.length > 0) {
    queryCalls++;
    traffic = await readTraffic(options.activity, inventory.namespaces, options, now, log);
    if (traffic.counted) options.metrics?.activitySourceUp.set(1);
  }
  if (!traffic.counted && traffic.unavailable !== undefined) options.metrics?.activitySourceUp.set(0);

  const saved = options.savings?.record(inventory.namespaces, inventory.asleep, now);

  const decisions = decide(inventory.namespaces, inventory.workloads, {
    now,
    defaultIdleAfter: options.defaultIdleAfter,
    systemNamespace: options.systemNamespace,
    period: options.period,
    traffic,
  });

  const skipped: Record<SkipCategory, number> = {
    awake: 0,
    asleep: 0,
    excluded: 0,
    nozzle: 0,
    invalid: 0,
    unknown: 0,
  };
  for (const skip of decisions.skipped) {
    skipped[skip.category]++;
    const where = {
      namespace: skip.workload.namespace,
      workload: `${skip.workload.kind}/${skip.workload.name}`,
    };
    if (skip.category === 'invalid')
      log.warn({ ...where, reason: skip.reason }, 'skipped: invalid annotation');
    else log.debug({ ...where, category: skip.category, reason: skip.reason }, 'skipped');
  }

  const messages = [
    ...decisions.due.map(({ workload, wokeAt, reason }) => {
      const message = sleepMessage(workload.namespace, workload, { reason, at: now });
      return { message, id: decisionId(message, wokeAt), where: `${workload.kind}/${workload.name}` };
    }),
    ...decisions.wakes.map(({ namespace, at }) => {
      const message = wakeMessage(namespace, { reason: 'schedule', at: new Date(at) });
      return { message, id: decisionId(message), where: 'wake schedule' };
    }),
  ];
  let published = 0;
  let duplicates = 0;
  let failed = 0;
  for (let i = 0; i < messages.length; i += PUBLISH_BATCH) {
    const batch = messages.slice(i, i + PUBLISH_BATCH);
    const results = await Promise.allSettled(
      batch.map(({ message, id }) => js.publish(subjectOf(message), encodeMessage(message), { msgID: id })),
    );
    results.forEach((result, j) => {
      const { message, where } = batch[j]!;
      if (result.status === 'rejected') {
        failed++;
        log.error(
          { namespace: message.namespace, op: message.op, workload: where, err: result.reason },
          `could not publish a ${message.op} message`,
        );
      } else if (result.value.duplicate) {
        duplicates++;
      } else {
        published++;
      }
    });
  }

  return {
    namespaces: inventory.namespaces.length,
    workloads: decisions.considered,
    due: decisions.due.length,
    wakes: decisions.wakes.length,
    published,
    duplicates,
    failed,
    skipped,
    listCalls: inventory.listCalls,
    queryCalls,
    traffic: traffic.counted ? 'counted' : (traffic.unavailable ?? 'not counted'),
    ...(saved ? { saved } : {}),
  };
}

/** One query for every namespace; its lookback is the longest idle-after among them. */
async function readTraffic(
  source: ActivitySource,
  namespaces: readonly NamespaceFacts[],
  { defaultIdleAfter, metrics }: Pick<RoundOptions, 'defaultIdleAfter' | 'metrics'>,
  now: Date,
  log: Logger,
): Promise<Traffic> {
  let lookback = defaultIdleAfter;
  for (const ns of namespaces) {
    const reading = readNamespacePolicy(ns.name, ns.annotations, defaultIdleAfter);
    if (reading.ok) lookback = Math.max(lookback, reading.policy.idleAfter);
  }
  const query = source.query({ lookback });
  try {
    const series = await queryActivity(source.url, query.promql, {
      timeout: source.timeout,
      now,
      ...(source.fetch ? { fetch: source.fetch } : {}),
    });
    const names = namespaces.map((ns) => ns.name);
    return { counted: true, lastRequest: lastRequests(series, query.match, names), source: source.name };
  } catch (err) {
    if (!(err instanceof ActivityUnavailableError)) throw err;
    metrics?.activitySourceFailures.inc({ reason: err.reason });
    log.error(
      { reason: err.reason, error: err.message, query: query.promql },
      'traffic source unavailable: nothing is put to sleep this round',
    );
    return { counted: false, unavailable: `${err.reason}: ${err.message}` };
  }
}
