/**
 * The activator, assembled: Ingress index -> wake coordinator -> request
 * handler -> node:http server, plus metrics. `nozzle activator` runs one; the
 * tests run it in-process the same way.
 */
import type { Registry } from 'prom-client';
import type { Values } from '../lib/config/settings.js';
import type { activatorSettings } from './settings.js';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { createRegistry } from '../lib/observability/metrics.js';
import { RequestHandler } from './handler.js';
import { HoldSlots } from './holds.js';
import { IngressIndex } from './ingress-index.js';
import { createActivatorMetrics, type ActivatorMetrics } from './metrics.js';
import { ActivatorServer } from './server.js';
import { UpstreamAddresses } from './upstream-address.js';
import { Upstreams } from './upstream.js';
import { WakeCoordinator } from './wake-coordinator.js';
import { Wake, kubeWakeDeps } from './wake.js';

export type ActivatorConfig = Values<typeof activatorSettings>;

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
    readonly index: IngressIndex,
    readonly wakes: WakeCoordinator,
    readonly holds: HoldSlots,
    private readonly upstreams: Upstreams,
    private readonly server: ActivatorServer,
    private readonly log: Logger,
    private readonly lifecycle: { stopping: boolean },
  ) {}

  static async start(options: ActivatorOptions): Promise<Activator> {
    const { config, kube, log } = options;
    const registry = options.registry ?? createRegistry('activator');
    const metrics = createActivatorMetrics(registry);
    // The coordinator and the index refer to each other through callbacks that run later.
    const wakeLog = log.child({ part: 'wake' });
    const wakes: WakeCoordinator = new WakeCoordinator({
      log: wakeLog,
      wakeGraceMs: config.wakeGrace,
      start: (namespace) =>
        new Wake(
          namespace,
          kubeWakeDeps({
            kube,
            // Interim (issue 9): the endpoint index of the data path goes here.
            index: { hasOwnReady: () => false, takenOver: () => [], onChange: () => () => undefined },
            log: wakeLog,
            metrics,
            readinessTimeoutMs: config.readinessTimeout,
          }),
        ),
    });
    const index: IngressIndex = new IngressIndex({
      kube,
      config: kube.config,
      log: log.child({ part: 'index' }),
      wakeGraceMs: config.wakeGrace,
      onNamespaceManaged: () => undefined,
      onChange: (counts) => {
        metrics.routes.set({ state: 'sleeping' }, counts.sleeping);
        metrics.routes.set({ state: 'grace' }, counts.grace);
        metrics.rejectedRoutes.set({ reason: 'unrouted' }, counts.unrouted);
        metrics.rejectedRoutes.set({ reason: 'conflict' }, counts.conflicting);
      },
    });
    const holds = new HoldSlots(config.holdLimit, metrics.held);
    const upstreams = new Upstreams({
      connections: config.upstreamConnections,
      timeoutMs: config.upstreamTimeout,
    });
    const addresses = new UpstreamAddresses({
      kube,
      clusterDomain: config.clusterDomain,
      devUpstreams: config.devUpstreams,
    });
    if (config.devUpstreams.size > 0) {
      log.warn(
        { overrides: Object.fromEntries(config.devUpstreams) },
        'NOZZLE_DEV_UPSTREAM_OVERRIDES is set: these Services are forwarded to the given addresses (development only)',
      );
    }
    const lifecycle = { stopping: false };
    const handler = new RequestHandler({
      index,
      wakes,
      upstreams,
      addresses,
      holds,
      metrics,
      registry,
      log,
      readinessTimeoutMs: config.readinessTimeout,
      upstreamTimeoutMs: config.upstreamTimeout,
      retryAfterSeconds: Math.ceil(config.retryAfter / 1000),
      shuttingDown: () => lifecycle.stopping,
      readiness: () => {
        if (lifecycle.stopping) return { ready: false, reason: 'shutting down' };
        if (!index.synced)
          return {
            ready: false,
            reason: `Ingress index not synced${index.lastError ? `: ${index.lastError}` : ''}`,
          };
        return { ready: true };
      },
    });
    const server = new ActivatorServer(handler, log, {
      host: config.listenAddress,
      port: config.port,
      requestTimeoutMs: config.readinessTimeout + config.upstreamTimeout,
    });
    index.start();
    void index.whenSynced().then(() => {
      metrics.indexSynced.set(1);
      log.info('Ingress index synced');
    });
    await server.listen();
    log.info({ address: server.address }, 'activator listening');
    return new Activator(config, registry, metrics, index, wakes, holds, upstreams, server, log, lifecycle);
  }

  /** `http://host:port` the server listens on (loopback for a wildcard address). */
  get url(): string {
    const { address, port, family } = this.server.address;
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address;
    return `http://${family === 'IPv6' && host !== '127.0.0.1' ? `[${host}]` : host}:${port}`;
  }

  get port(): number {
    return this.server.address.port;
  }

  /** Graceful: stop accepting, finish held and in-flight requests up to the deadline, then close everything. */
  async stop(deadlineMs: number = this.config.shutdownTimeout): Promise<void> {
    if (this.lifecycle.stopping) return;
    this.lifecycle.stopping = true;
    this.log.info({ inFlight: this.server.active, deadlineMs }, 'draining');
    await this.server.shutdown(deadlineMs);
    await this.wakes.close();
    await this.index.stop();
    await this.upstreams.close();
    this.log.info('activator stopped');
  }
}
