/**
 * The publisher's metrics: whether the traffic source could be read, and why
 * not. Served on /metrics in loop mode (NOZZLE_PUBLISHER_PORT); a CronJob
 * run logs the same figures in its round report.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { UnavailableReason } from './prometheus.js';

export interface PublisherMetrics {
  /** 1: read this round; 0: could not be read (nothing put to sleep); absent: no source configured. */
  readonly activitySourceUp: Gauge;
  readonly activitySourceFailures: Counter<'reason'>;
}

export function publisherMetrics(registry: Registry): PublisherMetrics {
  return {
    activitySourceUp: new Gauge({
      name: 'nozzle_publisher_activity_source_up',
      help: 'Whether the last round could read the traffic source (1) or not (0: nothing was put to sleep)',
      registers: [registry],
    }),
    activitySourceFailures: new Counter({
      name: 'nozzle_publisher_activity_source_failures_total',
      help: 'Rounds whose traffic source could not be read, by reason (timeout, unreachable, http, query, response)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

export type { UnavailableReason };
