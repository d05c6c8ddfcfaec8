import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { defineCommand } from '../lib/config/command.js';
import { ConfigError } from '../lib/config/settings.js';
import { nats, optIn, stream } from '../lib/config/nozzle.js';
import { publisherSettings as publisher } from './settings.js';
import { formatDuration } from '../lib/duration.js';
import { connectNats, natsAccess } from '../lib/jetstream/connect.js';
import { ensureTopology } from '../lib/jetstream/topology.js';
import { connectKube } from '../lib/kube/client.js';
import { describeError } from '../lib/errors.js';
import { startHealthServer } from '../lib/observability/health-server.js';
import { createRegistry } from '../lib/observability/metrics.js';
import { customQuery, presetQuery } from './activity-query.js';
import { publisherMetrics } from './metrics.js';
import { publishRound, type ActivitySource } from './round.js';
import { SavingsMeter } from './savings-meter.js';

export default defineCommand({
  summary:
    'Find the workloads of opted-in namespaces that have had no activity for their idle-after, or whose sleep schedule fired, and queue one sleep message each; queue a wake for each sleeping namespace whose wake schedule fired. Also creates or updates the JetStream stream and consumer.',
  settings: { ...nats, ...stream, ...optIn, ...publisher },
  aliases: { '--once': ['--interval', '0s'] },
  validate(config) {
    const problems: { setting: string; reason: string }[] = [];
    const query = publisher.activityQuery.env;
    const preset = publisher.activityPreset.env;
    const url = publisher.activityPrometheusUrl.env;
    if (config.activityPreset !== '' && config.activityQuery !== '') {
      problems.push({ setting: query, reason: `set either ${preset} or ${query}, not both` });
    }
    if (config.activityPrometheusUrl !== '' && config.activityPreset === '' && config.activityQuery === '') {
      problems.push({
        setting: url,
        reason: `needs ${preset} (${publisher.activityPreset.doc}) or ${query}`,
      });
    }
    if (
      config.activityPrometheusUrl === '' &&
      (config.activityPreset !== '' || config.activityQuery !== '')
    ) {
      problems.push({ setting: url, reason: `required when ${preset} or ${query} is set` });
    }
    if (config.activityQuery !== '' && !/\bnamespace\b/.test(config.activityQuery)) {
      problems.push({
        setting: query,
        reason: 'must keep a `namespace` label in its result, e.g. sum by (namespace)',
      });
    }
    if (problems.length > 0) throw new ConfigError(problems);
  },
  async run(config, log, signal) {
    const kube = connectKube();
    const registry = createRegistry('publisher');
    const metrics = publisherMetrics(registry);
    const savings = new SavingsMeter(metrics);
    const activity: ActivitySource | undefined =
      config.activityPrometheusUrl === ''
        ? undefined
        : {
            url: config.activityPrometheusUrl,
            name: config.activityPreset === '' ? 'custom query' : config.activityPreset,
            timeout: config.activityTimeout,
            query: (window) => {
              const w = { ...window, scrapeInterval: config.activityScrapeInterval };
              return config.activityPreset === ''
                ? customQuery(config.activityQuery, w)
                : presetQuery(config.activityPreset, w);
            },
          };
    if (activity === undefined) {
      log.warn(
        { setting: publisher.activityPrometheusUrl.env },
        'no traffic source: requests are not counted as activity (changes, wakes and keep-awake-until still are; docs/activity.md)',
      );
    } else {
      log.info({ url: activity.url, query: activity.name }, 'traffic source');
    }
    const nc = await connectNats(config.natsUrl, { name: 'nozzle-publisher', log, ...natsAccess(config) });
    let server: Server | undefined;
    try {
      const { warnings, ...topology } = await ensureTopology(nc, config);
      for (const warning of warnings) log.warn(warning);
      log.info(topology, 'stream and consumer ready');
      const js = jetstream(nc);
      const round = async (): Promise<boolean> => {
        const started = performance.now();
        try {
          const report = await publishRound(kube, js, log, {
            selector: config.namespaceSelector,
            pageSize: config.pageSize,
            defaultIdleAfter: config.idleAfter,
            systemNamespace: config.systemNamespace,
            period: config.interval > 0 ? Math.max(config.period, config.interval) : config.period,
            metrics,
            savings,
            ...(activity ? { activity } : {}),
          });
          const ms = Math.round(performance.now() - started);
          const level = report.failed > 0 ? 'error' : 'info';
          log[level]({ ...report, ms }, 'publisher round done');
          return report.failed === 0;
        } catch (err) {
          log.error({ error: describeError(err) }, 'publisher round failed');
          return false;
        }
      };

      if (config.interval === 0) return (await round()) ? 0 : 1;
      if (config.port > 0) {
        server = await startHealthServer({ port: config.port, readiness: () => ({ ready: true }), registry });
      }
      log.info({ interval: formatDuration(config.interval) }, 'publishing in a loop');
      while (!signal.aborted) {
        await round();
        await sleep(config.interval, undefined, { signal }).catch(() => {});
      }
      return 0;
    } finally {
      server?.close();
      await nc.drain().catch(() => {});
    }
  },
});
