import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { defineCommand } from '../lib/config/command.js';
import { nats, optIn, takeover } from '../lib/config/nozzle.js';
import { workerSettings } from './settings.js';
import { ConfigError } from '../lib/config/settings.js';
import { formatDuration } from '../lib/duration.js';
import { connectNats, natsAccess } from '../lib/jetstream/connect.js';
import { connectKube } from '../lib/kube/client.js';
import { startHealthServer } from '../lib/observability/health-server.js';
import { createRegistry } from '../lib/observability/metrics.js';
import { workerMetrics } from './metrics.js';
import { Worker } from './worker.js';
import type { SleepHook } from './handle.js';

/** `nozzle worker`; `afterStep` lets a test hold an operation at a step (test/support/paused-worker.ts). */
export function workerCommand(afterStep?: SleepHook) {
  return defineCommand({
    summary:
      'Consume sleep and wake messages from the nozzle-worker consumer and carry them out. Serves /healthz, /readyz and /metrics.',
    settings: { ...nats, ...optIn, ...takeover, ...workerSettings },
    validate(config) {
      // An operation must finish (or time out) within the shutdown, or SIGTERM cuts it short.
      if (config.operationTimeout >= config.shutdownTimeout) {
        throw new ConfigError([
          {
            setting: workerSettings.operationTimeout.env,
            reason: `${formatDuration(config.operationTimeout)} must be shorter than ${workerSettings.shutdownTimeout.env} (${formatDuration(config.shutdownTimeout)})`,
          },
        ]);
      }
    },
    async run(config, log, signal) {
      const kube = connectKube();
      const nc = await connectNats(config.natsUrl, {
        name: `nozzle-worker ${hostname()}`,
        log,
        ...natsAccess(config),
      });
      const registry = createRegistry('worker');
      const worker = new Worker(nc, kube, log, workerMetrics(registry), {
        concurrency: config.concurrency,
        shutdownTimeout: config.shutdownTimeout,
        portRange: config.portRange,
        namespaceSelector: config.namespaceSelector,
        systemNamespace: config.systemNamespace,
        retryDelay: config.retryDelay,
        retryDelayMax: config.retryDelayMax,
        operationTimeout: config.operationTimeout,
        maxClockSkew: config.maxClockSkew,
        afterStep,
      });
      let server: Server | undefined;
      try {
        server = await startHealthServer({
          port: config.port,
          readiness: () => worker.readiness(),
          registry,
        });
        const address = server.address();
        log.info(
          {
            port: typeof address === 'object' && address ? address.port : config.port,
            concurrency: config.concurrency,
          },
          'worker listening',
        );
        const started = worker.start();
        await new Promise<void>((resolve, reject) => {
          started.catch(reject);
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await worker.stop();
        log.info('worker stopped');
        return 0;
      } finally {
        server?.close();
        if (!nc.isClosed()) await nc.close();
      }
    },
  });
}

export default workerCommand();
