/** The settings of `nozzle worker` only; the shared ones are in lib/config/nozzle.ts. */
import { duration, integer } from '../lib/config/settings.js';

export const workerSettings = {
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
  maxClockSkew: duration({
    env: 'NOZZLE_MAX_CLOCK_SKEW',
    default: 30_000,
    min: 0,
    doc: "how far a message's `at` may be ahead of the worker's clock; a message decided further in the future is dead-lettered as invalid, never carried out (a forged sleep dated ahead would otherwise pass the check against the namespace's nozzle.io/woke-at)",
  }),
};
