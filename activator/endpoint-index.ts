/**
 * Which pods each Service port can be forwarded to, cluster-wide, from one
 * ListWatch of all EndpointSlices and one of all Services (design v2,
 * "Wake"). ready-endpoints.ts alone decides what is ready; this index keeps
 * the slices by namespace and Service, wakes `whenReady` waiters on the
 * events of their own Service (never polling), and says which Services are
 * taken over. Objects are kept trimmed to the fields read here, so 1,000
 * Services under takeover cost little.
 */
import type { KubeConfig, V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { labels } from '../lib/names.js';
import { servicePortKey, type PortTarget } from '../lib/takeover/port-assignment.js';
import { isTakeoverSlice } from '../lib/takeover/takeover-slice.js';
import { allSynced, type Feed, type FeedMaker } from './feed.js';
import { ListWatch, type ListWatchHandlers } from '../lib/kube/list-watch.js';
import { readyEndpoints, type ReadyEndpoint } from './ready-endpoints.js';

export type { ReadyEndpoint };

export interface ServiceRef {
  readonly namespace: string;
  readonly service: string;
}

export interface EndpointHandlers {
  readonly slices: ListWatchHandlers<V1EndpointSlice>;
  readonly services: ListWatchHandlers<V1Service>;
}

/** What the index keeps of a Service. */
interface ServiceEntry {
  readonly ports: readonly V1ServicePort[];
  readonly clusterIPs: readonly string[];
}

/** namespace -> Service name -> slice name -> slice. */
type SliceTree = Map<string, Map<string, Map<string, V1EndpointSlice>>>;

const key = (namespace: string, service: string): string => `${namespace}/${service}`;

export class EndpointIndex {
  private readonly services = new Map<string, ServiceEntry>();
  private readonly slices: SliceTree = new Map();
  /** `ns/slice name` -> the Service it was filed under (its label may change). */
  private readonly sliceOwner = new Map<string, string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(namespace: string) => void>();
  private readonly feeds: readonly Feed[];

  constructor(makeFeeds: FeedMaker<EndpointHandlers>) {
    this.feeds = makeFeeds({ slices: this.sliceHandlers(), services: this.serviceHandlers() });
  }

  /** The production index: cluster-wide ListWatches of EndpointSlices and Services. */
  static watching(kube: Kube, config: KubeConfig, log: Logger): EndpointIndex {
    return new EndpointIndex((handlers) => [
      new ListWatch<V1EndpointSlice>({
        config,
        log,
        path: '/apis/discovery.k8s.io/v1/endpointslices',
        list: () => kube.discovery.listEndpointSliceForAllNamespaces(),
        handlers: handlers.slices,
      }),
      new ListWatch<V1Service>({
        config,
        log,
        path: '/api/v1/services',
        list: () => kube.core.listServiceForAllNamespaces(),
        handlers: handlers.services,
      }),
    ]);
  }

  start(): this {
    for (const feed of this.feeds) feed.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.stop()));
  }

  get synced(): boolean {
    return allSynced(this.feeds);
  }

  async whenSynced(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.whenSynced()));
  }

  /** The ready endpoints of the target's Service port, from the Service's own slices only. */
  ready(t: PortTarget): ReadyEndpoint[] {
    const service = this.services.get(key(t.namespace, t.service));
    const port = service?.ports.find((p) => servicePortKey(p) === t.servicePort);
    if (!service || !port) return [];
    return readyEndpoints(this.slicesOf(t.namespace, t.service), {
      service: t.service,
      port,
      clusterIPs: service.clusterIPs,
    });
  }

  /** Resolves with the target's ready endpoints as soon as it has some; rejects with the signal's reason. */
  whenReady(t: PortTarget, signal: AbortSignal): Promise<ReadyEndpoint[]> {
    const now = this.ready(t);
    if (now.length > 0) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const k = key(t.namespace, t.service);
      const waiters = this.waiters.get(k) ?? new Set();
      this.waiters.set(k, waiters);
      const done = (): void => {
        waiters.delete(check);
        if (waiters.size === 0 && this.waiters.get(k) === waiters) this.waiters.delete(k);
        signal.removeEventListener('abort', onAbort);
      };
      const check = (): void => {
        const endpoints = this.ready(t);
        if (endpoints.length === 0) return;
        done();
        resolve(endpoints);
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason as Error);
      };
      waiters.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Whether any port of the Service has a ready endpoint of its own. */
  hasOwnReady(namespace: string, service: string): boolean {
    const ports = this.services.get(key(namespace, service))?.ports ?? [];
    return ports.some((p) => this.ready({ namespace, service, servicePort: servicePortKey(p) }).length > 0);
  }

  /** Services that have a Nozzle takeover slice (in `namespace`, or everywhere). */
  takenOver(namespace?: string): ServiceRef[] {
    const out: ServiceRef[] = [];
    const namespaces = namespace === undefined ? [...this.slices.keys()] : [namespace];
    for (const ns of namespaces) {
      for (const [service, slices] of this.slices.get(ns) ?? []) {
        if ([...slices.values()].some(isTakeoverSlice)) out.push({ namespace: ns, service });
      }
    }
    return out;
  }

  /** Called with the namespace of every change to its slices or Services; returns the unsubscribe. */
  onChange(listener: (namespace: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private slicesOf(namespace: string, service: string): Iterable<V1EndpointSlice> {
    return this.slices.get(namespace)?.get(service)?.values() ?? [];
  }

  private changed(namespace: string, service: string): void {
    for (const check of [...(this.waiters.get(key(namespace, service)) ?? [])]) check();
    for (const listener of this.listeners) listener(namespace);
  }

  /** After a relist: every waiter checks again and every namespace seen before or now is told. */
  private changedAll(namespaces: Iterable<string>): void {
    for (const waiters of [...this.waiters.values()]) for (const check of [...waiters]) check();
    for (const namespace of new Set(namespaces)) for (const listener of this.listeners) listener(namespace);
  }

  private sliceHandlers(): ListWatchHandlers<V1EndpointSlice> {
    return {
      replace: (items) => {
        const before = [...this.slices.keys()];
        this.slices.clear();
        this.sliceOwner.clear();
        for (const item of items) this.file(item);
        this.changedAll([...before, ...this.slices.keys()]);
      },
      upsert: (item) => {
        const before = this.unfile(item);
        const after = this.file(item);
        if (before && (!after || key(...before) !== key(...after))) this.changed(...before);
        if (after) this.changed(...after);
      },
      remove: (item) => {
        const removed = this.unfile(item);
        if (removed) this.changed(...removed);
      },
    };
  }

  private serviceHandlers(): ListWatchHandlers<V1Service> {
    return {
      replace: (items) => {
        const before = [...this.services.keys()];
        this.services.clear();
        for (const item of items) this.services.set(serviceKey(item), serviceEntry(item));
        this.changedAll([...before, ...this.services.keys()].map((k) => k.split('/')[0]!));
      },
      upsert: (item) => {
        this.services.set(serviceKey(item), serviceEntry(item));
        this.changed(item.metadata?.namespace ?? '', item.metadata?.name ?? '');
      },
      remove: (item) => {
        this.services.delete(serviceKey(item));
        this.changed(item.metadata?.namespace ?? '', item.metadata?.name ?? '');
      },
    };
  }

  /** Files a slice under its namespace and Service; returns where, or undefined when it names no Service. */
  private file(slice: V1EndpointSlice): [string, string] | undefined {
    const namespace = slice.metadata?.namespace ?? '';
    const name = slice.metadata?.name ?? '';
    const service = slice.metadata?.labels?.[labels.serviceName];
    if (!service) return undefined;
    let services = this.slices.get(namespace);
    if (!services) this.slices.set(namespace, (services = new Map<string, Map<string, V1EndpointSlice>>()));
    let slices = services.get(service);
    if (!slices) services.set(service, (slices = new Map<string, V1EndpointSlice>()));
    slices.set(name, trimSlice(slice));
    this.sliceOwner.set(key(namespace, name), service);
    return [namespace, service];
  }

  /** Removes a slice from where it was filed; returns where, or undefined when it was not. */
  private unfile(slice: V1EndpointSlice): [string, string] | undefined {
    const namespace = slice.metadata?.namespace ?? '';
    const name = slice.metadata?.name ?? '';
    const service = this.sliceOwner.get(key(namespace, name));
    if (service === undefined) return undefined;
    this.sliceOwner.delete(key(namespace, name));
    const services = this.slices.get(namespace);
    const slices = services?.get(service);
    slices?.delete(name);
    if (slices?.size === 0) services!.delete(service);
    if (services?.size === 0) this.slices.delete(namespace);
    return [namespace, service];
  }
}

const serviceKey = (s: V1Service): string => key(s.metadata?.namespace ?? '', s.metadata?.name ?? '');

function serviceEntry(s: V1Service): ServiceEntry {
  const clusterIPs = s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : []);
  return { ports: s.spec?.ports ?? [], clusterIPs: clusterIPs.filter((ip) => ip !== 'None') };
}

/** The fields ready-endpoints.ts and takenOver read; managedFields, annotations and the rest are dropped. */
function trimSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const l = slice.metadata?.labels ?? {};
  return {
    metadata: {
      name: slice.metadata?.name,
      labels: {
        [labels.serviceName]: l[labels.serviceName] ?? '',
        ...(l[labels.endpointSliceManagedBy]
          ? { [labels.endpointSliceManagedBy]: l[labels.endpointSliceManagedBy] }
          : {}),
      },
    },
    addressType: slice.addressType,
    ports: slice.ports,
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.conditions?.ready !== undefined ? { conditions: { ready: e.conditions.ready } } : {}),
    })),
  };
}
