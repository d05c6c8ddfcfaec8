import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { defineCommand } from '../lib/config/command.js';
import { nats, optIn, stream } from '../lib/config/nozzle.js';
import { publisherSettings as publisher } from './settings.js';
import { formatDuration } from '../lib/duration.js';
import { connectNats } from '../lib/jetstream/connect.js';
import { ensureTopology } from '../lib/jetstream/topology.js';
import { connectKube } from '../lib/kube/client.js';
import { describeError } from '../lib/errors.js';
import { publishRound } from './round.js';

export default defineCommand({
  summary:
    'Find the workloads of opted-in namespaces that have been awake longer than their idle-after and queue one sleep message each. Also creates or updates the JetStream stream and consumer.',
  settings: { ...nats, ...stream, ...optIn, ...publisher },
  aliases: { '--once': ['--interval', '0s'] },
  async run(config, log, signal) {
    const kube = connectKube();
    const nc = await connectNats(config.natsUrl, { name: 'nozzle-publisher', log });
    try {
      const topology = await ensureTopology(nc, config);
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
      log.info({ interval: formatDuration(config.interval) }, 'publishing in a loop');
      while (!signal.aborted) {
        await round();
        await sleep(config.interval, undefined, { signal }).catch(() => {});
      }
      return 0;
    } finally {
      await nc.drain().catch(() => {});
    }
  },
});
