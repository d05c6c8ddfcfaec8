/**
 * The activator, assembled: the endpoint index, the wakes, the data path on
 * the takeover ports, and the admin port (/healthz, /readyz, /metrics only).
 * One replica at a time (a Lease) also runs the convergence: takeover
 * slices follow the activator pods, wakes by others are finished, stale
 * ports released, 0.1 leftovers upgraded.
 * `nozzle activator` runs one; the tests run it in-process the same way.
 */
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Values } from '../lib/config/settings.js';
import { optIn } from '../lib/kube/opt-in.js';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { startHealthServer } from '../lib/observability/health-server.js';
import { createRegistry } from '../lib/observability/metrics.js';
import { DataPath } from './data-path.js';
import { EndpointIndex } from './endpoint-index.js';
import { Convergence } from './convergence/convergence.js';
import { createActivatorMetrics, type ActivatorMetrics } from './metrics.js';
import { validateActivatorSettings, type activatorCommandSettings } from './settings.js';
import { WakeCoordinator } from './wake-coordinator.js';
import { WakeLimits } from './wake-limits.js';
import { Wake, kubeWakeDeps } from './wake.js';

export type ActivatorConfig = Values<typeof activatorCommandSettings>;

export interface ActivatorOptions {
  readonly config: ActivatorConfig;
  readonly kube: Kube;
  readonly log: Logger;
  readonly registry?: Registry;
}

export class Activator {
  private constructor(
    readonly config: ActivatorConfig,
    readonly registry: Registry,
    readonly metrics: ActivatorMetrics,
    readonly index: EndpointIndex,
    readonly wakes: WakeCoordinator,
    readonly dataPath: DataPath,
    readonly convergence: Convergence,
    private readonly admin: Server,
    private readonly log: Logger,
  ) {}

  static async start(options: ActivatorOptions): Promise<Activator> {
    const { config, kube, log } = options;
    validateActivatorSettings(config);
    const registry = options.registry ?? createRegistry('activator');
    const metrics = createActivatorMetrics(registry);
    const index = EndpointIndex.watching(kube, kube.config, log.child({ part: 'endpoints' })).start();
    const wakeLog = log.child({ part: 'wake' });
    const wakes = new WakeCoordinator({
      log: wakeLog,
      wakeGraceMs: config.wakeGrace,
      limits: new WakeLimits(
        { minIntervalMs: config.wakeMinInterval, ratePerSecond: config.wakeRate, burst: config.wakeBurst },
        metrics.refusals,
      ),
      start: (namespace) =>
        new Wake(
          namespace,
          kubeWakeDeps({ kube, index, log: wakeLog, metrics, readinessTimeoutMs: config.readinessTimeout }),
        ),
    });
    const dataPath = new DataPath({
      kube,
      log,
      metrics,
      wakes,
      index,
      systemNamespace: config.systemNamespace,
      host: config.listenAddress,
      holdLimit: config.holdLimit,
      holdBudget: config.holdBudget,
      ...(config.verifiedWake ? { verifiedWakeSecret: config.wakeSecret } : {}),
      settings: {
        silentDelayMs: config.silentDelay,
        headerTimeoutMs: config.headerTimeout,
        readinessTimeoutMs: config.readinessTimeout,
        connectTimeoutMs: config.connectTimeout,
        spliceIdleTimeoutMs: config.spliceIdleTimeout,
        retryAfterSeconds: Math.ceil(config.retryAfter / 1000),
        ignoredAgents: config.ignoredAgents,
        botAgents: config.botAgents,
      },
    });
    const admin = await startHealthServer({
      port: config.port,
      host: config.listenAddress,
      registry,
      readiness: () =>
        dataPath.ready
          ? { ready: true }
          : { ready: false, reason: 'the endpoint index or the port table is not synced, or shutting down' },
    });
    await dataPath.start();
    const convergence = new Convergence({
      kube,
      index,
      log,
      systemNamespace: config.systemNamespace,
      timing: {
        leaseDurationMs: config.leaderLeaseDuration,
        renewDeadlineMs: config.leaderRenewDeadline,
        retryPeriodMs: config.leaderRetryPeriod,
      },
      settleMs: config.takeoverSettle,
      resyncMs: config.convergenceResync,
      wakingHere: (namespace) => wakes.get(namespace)?.state === 'waking',
      optIn: optIn(config.namespaceSelector, config.systemNamespace),
      onLostWakePath: (lost) => metrics.lostWakePaths.inc({ cause: lost.cause }),
    }).start();
    log.info({ admin: admin.address(), ports: dataPath.listening().length }, 'activator serving');
    return new Activator(config, registry, metrics, index, wakes, dataPath, convergence, admin, log);
  }

  /** Graceful: stop accepting, let held and spliced connections finish up to the deadline, then close. */
  async stop(deadlineMs: number = this.config.shutdownTimeout): Promise<void> {
    this.log.info({ deadlineMs }, 'draining');
    await this.convergence.stop();
    await this.dataPath.stop(deadlineMs);
    await this.wakes.close();
    await this.index.stop();
    await new Promise<void>((resolve) => this.admin.close(() => resolve()));
    this.admin.closeAllConnections();
    this.log.info('activator stopped');
  }
}
