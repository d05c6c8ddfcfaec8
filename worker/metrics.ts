import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type Outcome =
  | 'slept'
  | 'already_asleep'
  | 'woke'
  | 'skipped'
  /** For a namespace that has not opted in, or Nozzle's own: dead-lettered (kind invalid), never carried out. */
  | 'refused'
  | 'retried'
  | 'dead_lettered';
export type OpLabel = 'sleep' | 'wake' | 'invalid';

export interface WorkerMetrics {
  readonly messages: Counter<'op' | 'outcome'>;
  readonly duration: Histogram<'op' | 'outcome'>;
  readonly inFlight: Gauge;
  readonly deadLetters: Counter<'kind'>;
}

export function workerMetrics(registry: Registry): WorkerMetrics {
  return {
    messages: new Counter({
      name: 'nozzle_worker_messages_total',
      help: 'Messages handled, by op and outcome',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'nozzle_worker_operation_duration_seconds',
      help: 'Time from receiving a message to acknowledging (or retrying, or dead-lettering) it',
      labelNames: ['op', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'nozzle_worker_in_flight',
      help: 'Messages being processed now',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'nozzle_worker_dead_letters_total',
      help: 'Messages moved to NOZZLE_DLQ, by kind (invalid, failed, max-deliver)',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
