/**
 * The publisher's metrics: whether the traffic source could be read, and why
 * not; what Nozzle saves per namespace (publisher/savings-meter.ts). Served
 * on /metrics in loop mode (NOZZLE_PUBLISHER_PORT); a CronJob run logs the
 * same figures in its round report (docs/decisions.md, "Savings").
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { UnavailableReason } from './prometheus.js';

export interface PublisherMetrics {
  /** 1: read this round; 0: could not be read (nothing put to sleep); absent: no source configured. */
  readonly activitySourceUp: Gauge;
  readonly activitySourceFailures: Counter<'reason'>;
  /** Requests not running now because Nozzle put workloads to sleep. */
  readonly savedCpuCores: Gauge<'namespace'>;
  readonly savedMemoryBytes: Gauge<'namespace'>;
  /** The same, summed over the time this process saw. */
  readonly savedCpuCoreSeconds: Counter<'namespace'>;
  readonly savedMemoryByteSeconds: Counter<'namespace'>;
}

export function publisherMetrics(registry: Registry): PublisherMetrics {
  const registers = [registry];
  const labelNames = ['namespace'] as const;
  return {
    activitySourceUp: new Gauge({
      name: 'nozzle_publisher_activity_source_up',
      help: 'Whether the last round could read the traffic source (1) or not (0: nothing was put to sleep)',
      registers,
    }),
    activitySourceFailures: new Counter({
      name: 'nozzle_publisher_activity_source_failures_total',
      help: 'Rounds whose traffic source could not be read, by reason (timeout, unreachable, http, query, response)',
      labelNames: ['reason'],
      registers,
    }),
    savedCpuCores: new Gauge({
      name: 'nozzle_saved_cpu_cores',
      help: 'CPU requests (cores) not running at the last round because Nozzle put them to sleep: backed-up replicas x pod requests',
      labelNames,
      registers,
    }),
    savedMemoryBytes: new Gauge({
      name: 'nozzle_saved_memory_bytes',
      help: 'Memory requests (bytes) not running at the last round because Nozzle put them to sleep',
      labelNames,
      registers,
    }),
    savedCpuCoreSeconds: new Counter({
      name: 'nozzle_saved_cpu_core_seconds_total',
      help: 'CPU requests not running because of Nozzle, summed over time (core-seconds) since this publisher started',
      labelNames,
      registers,
    }),
    savedMemoryByteSeconds: new Counter({
      name: 'nozzle_saved_memory_byte_seconds_total',
      help: 'Memory requests not running because of Nozzle, summed over time (byte-seconds) since this publisher started',
      labelNames,
      registers,
    }),
  };
}

export type { UnavailableReason };
