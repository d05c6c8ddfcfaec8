/** The settings of `nozzle publish` only; the shared ones are in lib/config/nozzle.ts. */
import { duration, integer } from '../lib/config/settings.js';

export const publisherSettings = {
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
