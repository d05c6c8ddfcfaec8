/**
 * The activator's data path, assembled: port table (port Leases) ->
 * listeners -> connection pipeline (sniff, page server, hold, splice), fed by
 * the endpoint index. Ports open only once the index has listed every
 * EndpointSlice and Service, so that "not ready" never just means "not known
 * yet". stop() is graceful: no new connection is accepted, held and spliced
 * ones finish up to the deadline, then what is left is closed.
 */
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import type { PortTarget } from '../lib/takeover/port-assignment.js';
import { ConnectionPipeline, type ConnectionSettings } from './connection.js';
import type { EndpointIndex } from './endpoint-index.js';
import { HoldBudget } from './hold-budget.js';
import { HoldSlots } from './holds.js';
import type { ActivatorMetrics } from './metrics.js';
import { PageServer } from './page-server.js';
import { PortListeners } from './port-listeners.js';
import { PortTable } from './port-table.js';
import type { Wakes } from './waker.js';

export interface DataPathOptions {
  readonly kube: Kube;
  readonly log: Logger;
  readonly metrics: ActivatorMetrics;
  readonly wakes: Wakes;
  /** Where the port Leases are (Nozzle's namespace). */
  readonly systemNamespace: string;
  /** Address the takeover ports listen on. */
  readonly host: string;
  readonly holdLimit: number;
  /** NOZZLE_HOLD_BUDGET, bytes, every namespace together. */
  readonly holdBudget: number;
  /** NOZZLE_WAKE_SECRET when NOZZLE_VERIFIED_WAKE is on. */
  readonly verifiedWakeSecret?: string;
  readonly settings: ConnectionSettings;
  /** Started and stopped by the caller, who shares it with the wakes. */
  readonly index: EndpointIndex;
}

export class DataPath {
  readonly index: EndpointIndex;
  readonly holds: HoldSlots;
  readonly budget: HoldBudget;
  private readonly listeners: PortListeners<PortTarget>;
  private readonly ports: PortTable;
  private readonly pages: PageServer;
  private stopping = false;

  constructor(options: DataPathOptions) {
    const { kube, log, metrics, wakes, settings } = options;
    this.index = options.index;
    this.holds = new HoldSlots(options.holdLimit, metrics.held);
    this.budget = new HoldBudget(options.holdBudget, metrics.holdBudgetUsed);
    this.pages = new PageServer({
      index: this.index,
      wakes,
      readinessTimeoutMs: settings.readinessTimeoutMs,
      ...(options.verifiedWakeSecret === undefined ? {} : { verifiedWakeSecret: options.verifiedWakeSecret }),
    });
    const pipeline = new ConnectionPipeline({
      index: this.index,
      wakes,
      holds: this.holds,
      budget: this.budget,
      pages: this.pages,
      metrics,
      log: log.child({ part: 'connection' }),
      settings,
    });
    this.listeners = new PortListeners<PortTarget>({
      host: options.host,
      onConnection: (socket, target) => void pipeline.handle(socket, target),
      onError: (port, err) => log.warn({ port, err }, 'takeover port error'),
    });
    this.ports = PortTable.watching(kube, options.systemNamespace, {
      listeners: this.listeners,
      log: log.child({ part: 'ports' }),
      metrics,
    });
  }

  /** Resolves once the index (started by the caller) is synced and the ports of the listed Leases listen (or failed to bind). */
  async start(): Promise<void> {
    await this.index.whenSynced();
    this.ports.start();
    await this.ports.whenSynced();
  }

  /** Whether it serves: synced and not stopping (the admin port's /readyz). */
  get ready(): boolean {
    return !this.stopping && this.index.synced && this.ports.synced;
  }

  /** The ports listening now. */
  listening(): number[] {
    return this.listeners.ports();
  }

  /** Stops accepting, lets held and spliced connections finish up to `deadlineMs`, then closes them. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.ports.stop();
    await this.listeners.close(deadlineMs);
    this.pages.close();
  }
}
