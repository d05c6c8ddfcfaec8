/** The settings of `nozzle publish` only; the shared ones are in lib/config/nozzle.ts. */
import { duration, integer, oneOf, string, url } from '../lib/config/settings.js';
import { PRESETS } from './activity-query.js';

export const publisherSettings = {
  idleAfter: duration({
    env: 'NOZZLE_IDLE_AFTER',
    flag: '--idle-after',
    default: 30 * 60_000,
    min: 1_000,
    doc: 'default time without activity before a namespace sleeps, when it has no nozzle.io/idle-after annotation',
  }),
  interval: duration({
    env: 'NOZZLE_PUBLISH_INTERVAL',
    flag: '--interval',
    default: 0,
    doc: 'run in a loop with this pause between rounds; 0 runs once and exits (the CronJob way)',
  }),
  period: duration({
    env: 'NOZZLE_PUBLISH_PERIOD',
    default: 5 * 60_000,
    min: 60_000,
    doc: "time between two rounds (the CronJob's schedule, or --interval): a sleep or wake schedule that fired within this much before a round is carried out by it",
  }),
  port: integer({
    env: 'NOZZLE_PUBLISHER_PORT',
    default: 0,
    min: 0,
    max: 65535,
    doc: 'with --interval: port of /healthz, /readyz and /metrics (0: none; a CronJob run logs its figures instead)',
  }),
  pageSize: integer({
    env: 'NOZZLE_LIST_PAGE_SIZE',
    default: 500,
    min: 1,
    max: 5000,
    doc: 'objects per page of the cluster-wide list calls',
  }),
  activityPrometheusUrl: url({
    env: 'NOZZLE_ACTIVITY_PROMETHEUS_URL',
    default: '',
    protocols: ['http:', 'https:'],
    doc: 'Prometheus-compatible API that counts the requests each namespace gets (docs/activity.md); unset: traffic is not counted, the other activity signals still are',
  }),
  activityPreset: oneOf({
    env: 'NOZZLE_ACTIVITY_PRESET',
    default: '',
    values: ['', ...PRESETS],
    doc: `the documented query for your gateway: ${PRESETS.join(', ')}; exclusive with NOZZLE_ACTIVITY_QUERY`,
  }),
  activityQuery: string({
    env: 'NOZZLE_ACTIVITY_QUERY',
    default: '',
    doc: 'your own PromQL: a vector with a `namespace` label whose value is the Unix time of its last request ($__lookback, $__step, $__range are replaced); exclusive with NOZZLE_ACTIVITY_PRESET',
  }),
  activityScrapeInterval: duration({
    env: 'NOZZLE_ACTIVITY_SCRAPE_INTERVAL',
    default: 60_000,
    min: 1_000,
    doc: "how often your Prometheus scrapes the gateway: the query's counter range is sized for two scrapes, and the last request is known to within a step and two scrapes (1m: 3m)",
  }),
  activityTimeout: duration({
    env: 'NOZZLE_ACTIVITY_TIMEOUT',
    default: 10_000,
    min: 100,
    doc: 'how long the activity query may take; after that nothing is put to sleep that round',
  }),
};
