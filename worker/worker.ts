/**
 * The worker: `concurrency` loops, each pulling one message at a time from the
 * nozzle-worker consumer and handling it. There is no prefetch: a message is
 * only taken when a loop can start on it at once, so none waits in memory
 * while its ack deadline runs.
 *
 * Stopping (SIGTERM): the loops stop pulling (open pull requests are
 * closed); in-flight messages get up to `shutdownTimeout` to finish; any
 * still running then are nak'ed so another worker takes them at once (each
 * step is idempotent, so the redelivery completes what was cut short); then
 * the connection is drained.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Kube } from '../lib/kube/client.js';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { jetstream as names } from '../lib/names.js';
import { optIn, type OptIn } from '../lib/kube/opt-in.js';
import { handleMessage, type HandlerContext } from './handle.js';
import { watchMaxDeliveries } from './max-deliveries.js';
import type { WorkerMetrics } from './metrics.js';
import type { SleepHook } from './handle.js';
import type { PortRange } from '../lib/takeover/port-assignment.js';
import { ActivatorPods } from './activator-pods.js';

export interface WorkerOptions {
  readonly concurrency: number;
  readonly shutdownTimeout: number;
  /** NOZZLE_ACTIVATOR_PORT_RANGE (the default range when absent). */
  readonly portRange?: PortRange;
  /** NOZZLE_NAMESPACE_SELECTOR: messages for namespaces it does not select are refused. */
  readonly namespaceSelector: string;
  /** NOZZLE_SYSTEM_NAMESPACE: always refused; the activator pods and port Leases live there. */
  readonly systemNamespace: string;
  readonly retryDelay: number;
  readonly retryDelayMax: number;
  readonly operationTimeout: number;
  /** NOZZLE_MAX_CLOCK_SKEW: a message whose `at` is further ahead of now is dead-lettered. */
  readonly maxClockSkew: number;
  /** Runs after each step of a sleep; tests hold an operation there. */
  readonly afterStep?: SleepHook;
}

/** How long one pull waits for a message before asking again. */
const PULL_EXPIRES = 5_000;

export class Worker {
  readonly #nc: NatsConnection;
  readonly #kube: Kube;
  readonly #log: Logger;
  readonly #metrics: WorkerMetrics;
  readonly #options: WorkerOptions;
  readonly #optIn: OptIn;
  readonly #stopping = new AbortController();
  readonly #inFlight = new Map<JsMsg, Promise<unknown>>();
  readonly #pulls = new Set<ConsumerMessages>();
  readonly #activatorPods: ActivatorPods;
  #consumer: Consumer | undefined;
  #context: HandlerContext | undefined;
  #advisories: Subscription | undefined;
  #loops: Promise<void>[] = [];
  #starting: Promise<void> | undefined;
  #connected = true;
  #consumerMissing = false;

  constructor(nc: NatsConnection, kube: Kube, log: Logger, metrics: WorkerMetrics, options: WorkerOptions) {
    this.#nc = nc;
    this.#kube = kube;
    this.#log = log;
    this.#metrics = metrics;
    this.#options = options;
    // Throws on a bad selector; the CLI has already checked it at start-up (NOZZLE_NAMESPACE_SELECTOR).
    this.#optIn = optIn(options.namespaceSelector, options.systemNamespace);
    this.#activatorPods = new ActivatorPods(kube, options.systemNamespace, log);
    void this.#trackConnection();
  }

  /** For /readyz: NATS connected and the consumer bound. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    if (this.#stopping.signal.aborted) return { ready: false, reason: 'shutting down' };
    if (this.#nc.isClosed() || !this.#connected) return { ready: false, reason: 'NATS not connected' };
    if (this.#consumer === undefined || this.#consumerMissing) {
      return { ready: false, reason: `consumer ${names.consumer} not bound` };
    }
    return { ready: true };
  }

  /** Binds the consumer (waiting for it to exist, until stopped) and starts the loops. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const js = jetstream(this.#nc);
    const jsm = await jetstreamManager(this.#nc);
    this.#activatorPods.start();
    await this.#bind(js);
    if (this.#stopping.signal.aborted) return;
    this.#advisories = watchMaxDeliveries(this.#nc, jsm, js, this.#log, this.#metrics);
    this.#loops = Array.from({ length: this.#options.concurrency }, () => this.#loop());
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#starting?.catch(() => {});
    // Not awaited: a pull whose message is being handled only closes once its loop moves on.
    for (const pull of this.#pulls) void pull.close().catch(() => {});
    const running = [...this.#inFlight.values()];
    if (running.length > 0) this.#log.info({ inFlight: running.length }, 'finishing in-flight operations');
    const finished = await Promise.race([
      Promise.allSettled(running).then(() => true),
      sleep(this.#options.shutdownTimeout, false, { ref: false }),
    ]);
    if (!finished) {
      for (const msg of this.#inFlight.keys()) msg.nak();
      this.#log.warn(
        { unfinished: this.#inFlight.size, timeoutMs: this.#options.shutdownTimeout },
        'shutdown timeout: unfinished operations handed back for redelivery',
      );
    }
    this.#advisories?.unsubscribe();
    await this.#activatorPods.stop();
    if (!this.#nc.isClosed()) await this.#nc.drain();
    // Pulls still waiting end with the connection; loops stuck on an abandoned operation are not waited for.
    await Promise.race([Promise.allSettled(this.#loops), sleep(1_000, undefined, { ref: false })]);
  }

  async #bind(js: JetStreamClient): Promise<void> {
    for (let attempt = 1; !this.#stopping.signal.aborted; attempt++) {
      try {
        const consumer = await js.consumers.get(names.stream, names.consumer);
        const info = await consumer.info(true);
        const ackWaits = [info.config.ack_wait ?? 30e9, ...(info.config.backoff ?? [])].filter((n) => n > 0);
        this.#context = {
          kube: this.#kube,
          js,
          log: this.#log,
          metrics: this.#metrics,
          portRange: this.#options.portRange,
          activatorPods: () => this.#activatorPods.current(),
          optIn: this.#optIn,
          retryDelay: this.#options.retryDelay,
          retryDelayMax: this.#options.retryDelayMax,
          operationTimeout: this.#options.operationTimeout,
          maxClockSkew: this.#options.maxClockSkew,
          maxDeliver:
            info.config.max_deliver && info.config.max_deliver > 0 ? info.config.max_deliver : Infinity,
          workingEvery: Math.max(200, Math.min(...ackWaits) / 1e6 / 3),
          afterStep: this.#options.afterStep,
        };
        this.#consumer = consumer;
        this.#log.info(
          { stream: names.stream, consumer: names.consumer, maxDeliver: info.config.max_deliver },
          'consumer bound',
        );
        return;
      } catch (err) {
        const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug';
        this.#log[level](
          { error: describeError(err), attempt },
          'cannot bind the consumer yet (run `nozzle setup`)',
        );
        await sleep(1_000, undefined, { signal: this.#stopping.signal }).catch(() => {});
      }
    }
  }

  async #loop(): Promise<void> {
    const consumer = this.#consumer;
    const context = this.#context;
    if (!consumer || !context) return;
    while (!this.#stopping.signal.aborted) {
      // A one-message fetch rather than next(): it can be closed when stopping, and JetStream drops a
      // pull request nobody listens to, so nothing handed back at shutdown is redelivered to us.
      let pull: ConsumerMessages | undefined;
      try {
        pull = await consumer.fetch({ max_messages: 1, expires: PULL_EXPIRES });
        this.#pulls.add(pull);
        if (this.#stopping.signal.aborted) await pull.close();
        for await (const msg of pull) {
          this.#consumerMissing = false;
          if (this.#stopping.signal.aborted) {
            msg.nak(); // arrived while stopping: straight back for another worker
            continue;
          }
          const handling = this.#handle(msg, context);
          this.#inFlight.set(msg, handling);
          await handling;
          this.#inFlight.delete(msg);
        }
      } catch (err) {
        if (this.#stopping.signal.aborted) return;
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) {
          this.#consumerMissing = true;
          this.#log.error('the consumer was deleted; run `nozzle setup`');
        } else {
          this.#log.warn({ error: describeError(err) }, 'pull failed; retrying');
        }
        await sleep(1_000, undefined, { signal: this.#stopping.signal }).catch(() => {});
      } finally {
        if (pull) this.#pulls.delete(pull);
      }
    }
  }

  async #handle(msg: JsMsg, context: HandlerContext): Promise<void> {
    this.#metrics.inFlight.inc();
    try {
      await handleMessage(msg, context);
    } catch (err) {
      // handleMessage decides every ending itself; this is a bug, and the message must not be lost to it.
      this.#log.error({ err, seq: msg.seq }, 'unexpected error handling a message; it will be redelivered');
      msg.nak(context.retryDelay);
    } finally {
      this.#metrics.inFlight.dec();
    }
  }

  async #trackConnection(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') this.#connected = false;
      else if (status.type === 'reconnect') this.#connected = true;
    }
  }
}
