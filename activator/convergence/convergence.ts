/**
 * Convergence (design v2, Wake): what one activator replica at a time (the
 * holder of the Lease nozzle-system/nozzle-activator-leader) keeps true:
 * (a) every takeover slice's endpoints are the ready activator pods (a watch
 *     of the activator pods; lib/takeover repointAll on every change);
 * (b) a Service with a takeover slice and ready endpoints of its own, whose
 *     slice has settled, was woken by someone else: finish that wake
 *     (woken-elsewhere.ts), on every index change of its namespace;
 * (c) port Leases of Services that are gone or changed are released;
 * (d) namespaces 0.1 left asleep are woken and their Ingresses restored;
 * (e) a settled takeover whose Service has no ready endpoints and selects no
 *     workload that sleeps (or runs) is stale: removed (stale-takeover.ts),
 *     on every index change of its namespace;
 * (f) a sleeping workload no request can wake (a Service re-created without
 *     its takeover, or the namespace opted out while asleep) is woken
 *     (wake-paths.ts), at every resync.
 * Everything also runs at every resync (NOZZLE_CONVERGENCE_RESYNC), and the
 * leader's actions run one at a time. Every step is idempotent: a leader that
 * loses the Lease mid-step leaves nothing the next one cannot finish.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { OptIn } from '../../lib/kube/opt-in.js';
import { releaseStale } from '../../lib/takeover/port-assignment.js';
import { repointAll, takeoverSlices } from '../../lib/takeover/takeover.js';
import { readyActivatorPods } from '../../lib/takeover/activator-pods.js';
import type { ActivatorPod } from '../../lib/takeover/takeover-slice.js';
import { ACTIVATOR_POD_SELECTOR, labels } from '../../lib/names.js';
import { recordWokeEvent } from '../../lib/wake/event.js';
import { ListWatch } from '../../lib/kube/list-watch.js';
import { LeaderElection, type LeaderTiming } from './leader-election.js';
import { upgradeAllV01 } from './upgrade-v01.js';
import { recordStaleEvent, removeStaleTakeovers, staleNote } from './stale-takeover.js';
import { adoptWake, adoptedNote, settlesInMs } from './woken-elsewhere.js';
import { findLostWakePaths, lostWakePathNote, wakeLostPath, type LostWakePath } from './wake-paths.js';
import { NO_OBJECTS, listNamespaceObjects } from './namespace-objects.js';

/** What the leader reads of the endpoint index (activator/endpoint-index.ts), structurally. */
export interface ConvergenceIndex {
  hasOwnReady(namespace: string, service: string): boolean;
  onChange(listener: (namespace: string) => void): () => void;
}

export interface ConvergenceOptions {
  readonly kube: Kube;
  readonly index: ConvergenceIndex;
  readonly log: Logger;
  /** Nozzle's namespace: the leader Lease, the port Leases and the activator pods. */
  readonly systemNamespace: string;
  readonly timing: LeaderTiming;
  /** NOZZLE_TAKEOVER_SETTLE. */
  readonly settleMs: number;
  /** NOZZLE_CONVERGENCE_RESYNC. */
  readonly resyncMs: number;
  /** This replica in the Lease (the pod name and a random suffix by default). */
  readonly identity?: string;
  /** Limits (b), (e), (a)'s slices and (d) to one namespace: tests share one apiserver. */
  readonly namespace?: string;
  /**
   * Whether this replica is waking the namespace now: that wake removes its
   * own takeovers, and (b) adopting them as "woken by someone else" would only
   * stamp woke-at a second time, after a sleep decided meanwhile.
   */
  readonly wakingHere?: (namespace: string) => boolean;
  /** NOZZLE_NAMESPACE_SELECTOR and Nozzle's namespace, for (f); (f) does not run without them. */
  readonly optIn?: OptIn;
  /** Called for each lost wake path (f) found, before its wake: the activator counts them. */
  readonly onLostWakePath?: (lost: LostWakePath) => void;
}

export class Convergence {
  readonly identity: string;
  private readonly election: LeaderElection;
  private readonly log: Logger;
  private leading: Leading | undefined;

  constructor(private readonly options: ConvergenceOptions) {
    this.identity = options.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    this.log = options.log.child({ part: 'convergence' });
    this.election = new LeaderElection({
      kube: options.kube,
      namespace: options.systemNamespace,
      identity: this.identity,
      timing: options.timing,
      log: this.log,
      onStartedLeading: () => {
        this.leading = new Leading(this.options, this.log);
      },
      onStoppedLeading: () => {
        const leading = this.leading;
        this.leading = undefined;
        void leading?.stop();
      },
    });
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  start(): this {
    this.election.start();
    return this;
  }

  /** Stops leading (the Lease released), after the step in progress. */
  async stop(): Promise<void> {
    const leading = this.leading;
    await this.election.stop();
    await leading?.stop();
  }

  /** Resolves when the leader's queued steps are done (tests). */
  async idle(): Promise<void> {
    await this.leading?.idle();
  }
}

/** The leader's work, from taking the Lease to losing it. */
class Leading {
  private readonly pods = new Map<string, V1Pod>();
  private readonly podWatch: ListWatch<V1Pod>;
  private readonly unsubscribe: () => void;
  private readonly resync: NodeJS.Timeout;
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private repointQueued = false;
  /** The pods the slices were last re-pointed at (JSON), to skip unchanged sets. */
  private pointedAt: string | undefined;
  private readonly queuedNamespaces = new Set<string>();
  /** The pods have been listed once (before that, "no pod" only means "not known yet"). */
  private podsListed = false;

  constructor(
    private readonly options: ConvergenceOptions,
    private readonly log: Logger,
  ) {
    const { kube, systemNamespace } = options;
    this.podWatch = new ListWatch<V1Pod>({
      config: kube.config,
      log,
      path: `/api/v1/namespaces/${systemNamespace}/pods`,
      labelSelector: ACTIVATOR_POD_SELECTOR,
      list: () =>
        kube.core.listNamespacedPod({ namespace: systemNamespace, labelSelector: ACTIVATOR_POD_SELECTOR }),
      handlers: {
        replace: (items) => {
          this.pods.clear();
          for (const pod of items) this.pods.set(pod.metadata?.name ?? '', pod);
          this.podsListed = true;
          this.queueRepoint();
        },
        upsert: (pod) => {
          this.pods.set(pod.metadata?.name ?? '', pod);
          this.queueRepoint();
        },
        remove: (pod) => {
          this.pods.delete(pod.metadata?.name ?? '');
          this.queueRepoint();
        },
      },
    }).start();
    this.unsubscribe = options.index.onChange((namespace) => {
      if (options.namespace === undefined || namespace === options.namespace) this.queueNamespace(namespace);
    });
    this.resync = setInterval(() => this.queueResync(), options.resyncMs);
    this.queueResync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resync);
    for (const timer of this.settleTimers.values()) clearTimeout(timer);
    this.unsubscribe();
    await this.podWatch.stop();
    await this.chain;
  }

  idle(): Promise<void> {
    return this.chain;
  }

  /** Runs `step` after the steps before it; a failure is logged (the next change or resync tries again). */
  private enqueue(what: string, step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: describeError(err) }, `${what} failed; retried at the next change or resync`);
      }
    });
  }

  private queueRepoint(): void {
    if (!this.podsListed || this.repointQueued) return;
    this.repointQueued = true;
    this.enqueue('re-pointing takeover slices', async () => {
      this.repointQueued = false;
      await this.repoint(false);
    });
  }

  private async repoint(force: boolean): Promise<void> {
    const pods: ActivatorPod[] = readyActivatorPods([...this.pods.values()]);
    const key = JSON.stringify(pods);
    if (!force && key === this.pointedAt) return;
    if (pods.length === 0) {
      this.log.warn('no ready activator pod: takeover slices left as they are');
      return;
    }
    const changed = await repointAll(this.options.kube, pods, this.options.namespace);
    this.pointedAt = key;
    if (changed > 0) {
      this.log.info({ changed, pods: pods.map((p) => `${p.podName}=${p.ip}`) }, 're-pointed takeover slices');
    }
  }

  private queueNamespace(namespace: string): void {
    if (this.queuedNamespaces.has(namespace)) return;
    this.queuedNamespaces.add(namespace);
    this.enqueue(`checking the takeovers of ${namespace}`, async () => {
      this.queuedNamespaces.delete(namespace);
      await this.checkTakeovers(namespace);
    });
  }

  private queueResync(): void {
    this.enqueue('resync: re-pointing', async () => {
      if (this.podsListed) await this.repoint(true);
    });
    this.enqueue('resync: wakes by someone else and stale takeovers', () =>
      this.checkTakeovers(this.options.namespace),
    );
    this.enqueue('resync: releasing stale port Leases', async () => {
      const result = await releaseStale(this.options.kube, this.options.systemNamespace);
      if (result.released.length > 0 || result.repaired.length > 0)
        this.log.info(result, 'port Leases released');
      if (result.invalid.length > 0)
        this.log.warn({ invalid: result.invalid }, 'invalid port Leases left alone');
    });
    this.enqueue('resync: upgrading 0.1 leftovers', async () => {
      await upgradeAllV01(this.options.kube, this.log, this.options.namespace);
    });
    this.enqueue('resync: lost wake paths', () => this.wakeLostPaths());
  }

  /**
   * (b) and (e) for one namespace, or every one, from one list of takeover
   * slices: a settled Service ready on its own was woken by someone else; a
   * settled one that is not may be stale (stale-takeover.ts decides, with one
   * list of workloads and Services per namespace that has such a Service).
   */
  private async checkTakeovers(namespace?: string): Promise<void> {
    const { kube, index, settleMs } = this.options;
    const now = new Date();
    const waits = new Map<string, number>(); // "ns/service" -> ms until its newest slice settles
    for (const slice of await takeoverSlices(kube, namespace)) {
      const ns = slice.metadata?.namespace ?? '';
      const service = slice.metadata?.labels?.[labels.serviceName] ?? '';
      if (!ns || !service) continue;
      const key = `${ns}/${service}`;
      waits.set(key, Math.max(waits.get(key) ?? -Infinity, settlesInMs(slice, now, settleMs)));
    }
    const maybeStale = new Map<string, string[]>(); // namespace -> settled Services not ready on their own
    for (const [key, wait] of waits) {
      const [ns, service] = key.split('/') as [string, string];
      if (wait > 0) {
        this.recheckLater(ns, wait);
        continue;
      }
      if (index.hasOwnReady(ns, service)) {
        if (!this.options.wakingHere?.(ns)) await this.adopt(ns, service);
      } else maybeStale.set(ns, [...(maybeStale.get(ns) ?? []), service]);
    }
    if (maybeStale.size === 0) return;
    const only = namespace ?? (maybeStale.size === 1 ? [...maybeStale.keys()][0] : undefined);
    const objects = await listNamespaceObjects(kube, only);
    for (const [ns, services] of maybeStale) {
      for (const stale of await removeStaleTakeovers(kube, ns, services, objects.get(ns) ?? NO_OBJECTS)) {
        const note = staleNote(stale);
        this.log.info({ namespace: ns, service: stale.service, removed: stale.removed }, note);
        await recordStaleEvent(kube, ns, stale).catch((err: unknown) =>
          this.log.warn(
            { namespace: ns, err: describeError(err) },
            'could not record the StaleTakeover event',
          ),
        );
      }
    }
  }

  /** (f): wakes each namespace whose sleeping workloads no request can wake. */
  private async wakeLostPaths(): Promise<void> {
    const { kube, optIn, namespace } = this.options;
    if (!optIn) return;
    const objects = await listNamespaceObjects(kube, namespace);
    for (const lost of await findLostWakePaths(kube, optIn, objects, namespace)) {
      this.options.onLostWakePath?.(lost);
      const { restored, removed } = await wakeLostPath(kube, lost);
      const note = lostWakePathNote(lost, restored);
      this.log.warn({ namespace: lost.namespace, cause: lost.cause, services: lost.services, removed }, note);
      // A namespace that opted out is not Nozzle's to write an Event in: the log says it.
      if (lost.cause === 'no-takeover') {
        await recordWokeEvent(kube, lost.namespace, note).catch((err: unknown) =>
          this.log.warn(
            { namespace: lost.namespace, err: describeError(err) },
            'could not record the Woke event',
          ),
        );
      }
    }
  }

  /** (b): finishes the wake of a Service scaled up outside Nozzle. */
  private async adopt(ns: string, service: string): Promise<void> {
    const { kube } = this.options;
    const adopted = await adoptWake(kube, ns, service);
    if (adopted.removed.length === 0 && adopted.cleared.length === 0) return;
    const note = adoptedNote(adopted);
    this.log.info({ namespace: ns, service, cleared: adopted.cleared, removed: adopted.removed }, note);
    await recordWokeEvent(kube, ns, note).catch((err: unknown) =>
      this.log.warn({ namespace: ns, err: describeError(err) }, 'could not record the Woke event'),
    );
  }

  private recheckLater(namespace: string, ms: number): void {
    if (this.settleTimers.has(namespace) || this.stopped) return;
    const timer = setTimeout(() => {
      this.settleTimers.delete(namespace);
      this.queueNamespace(namespace);
    }, ms + 50);
    timer.unref();
    this.settleTimers.set(namespace, timer);
  }
}
