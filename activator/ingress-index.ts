/**
 * The index: every Ingress labelled `nozzle.io/managed=true`, cluster-wide,
 * from a watch, turned into a RouteTable of the backends Nozzle recorded.
 *
 * Routes that leave the index (the wake restored the Ingress, or it was
 * deleted) stay as "grace" routes for `wakeGrace`: requests that still reach
 * the activator through a stale ingress configuration are forwarded to the
 * recorded backend instead of getting 404.
 *
 * What the index refuses (docs/activator.md, "Which routes the activator
 * trusts"): records the Ingress's spec does not route to the route Service
 * (ingress-routes.ts), and a host + path claimed by several namespaces
 * (route-table.ts); both are logged and counted.
 */
import type { KubeConfig, V1Ingress } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { labels } from '../lib/names.js';
import { routesOfIngress } from './ingress-routes.js';
import { ListWatch } from './list-watch.js';
import { RouteTable, type Route, type RouteConflict } from './route-table.js';

export type RouteState = 'sleeping' | 'grace';

export interface RouteMatch {
  readonly route: Route;
  /** `sleeping`: the Ingress still points at the activator; `grace`: it was restored lately. */
  readonly state: RouteState;
}

export interface IngressIndexOptions {
  readonly kube: Kube;
  readonly config: KubeConfig;
  readonly log: Logger;
  readonly wakeGraceMs: number;
  /** Called when a namespace gets a managed Ingress it did not have: it went (back) to sleep. */
  readonly onNamespaceManaged?: (namespace: string) => void;
  /** Called after every change with the number of routes (for metrics). */
  readonly onChange?: (counts: RouteCounts) => void;
}

export interface RouteCounts {
  readonly sleeping: number;
  readonly grace: number;
  /** Records refused because the Ingress's spec does not route them to the route Service. */
  readonly unrouted: number;
  /** Routes refused because another namespace claims the same host + path. */
  readonly conflicting: number;
}

interface Indexed {
  readonly routes: Route[];
  readonly unrouted: number;
  /** metadata.generation: it changes with the spec (a restore, a sleep), not with labels or annotations. */
  readonly generation: number | undefined;
}

interface GraceRoute {
  readonly route: Route;
  readonly until: number;
}

export const MANAGED_SELECTOR = `${labels.managed}=true`;

export class IngressIndex {
  private readonly byIngress = new Map<string, Indexed>();
  private reportedConflicts = new Set<string>();
  private grace: GraceRoute[] = [];
  private table = new RouteTable([]);
  private graceTable = new RouteTable([]);
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly watch: ListWatch<V1Ingress>;

  constructor(private readonly options: IngressIndexOptions) {
    this.watch = new ListWatch<V1Ingress>({
      config: options.config,
      path: '/apis/networking.k8s.io/v1/ingresses',
      labelSelector: MANAGED_SELECTOR,
      list: () => options.kube.networking.listIngressForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
      log: options.log,
      handlers: {
        replace: (items) => this.replace(items),
        upsert: (item) => this.set(item),
        remove: (item) => this.delete(keyOf(item)),
      },
    });
  }

  start(): this {
    this.watch.start();
    return this;
  }

  get synced(): boolean {
    return this.watch.synced;
  }

  get lastError(): string | undefined {
    return this.watch.lastError;
  }

  whenSynced(): Promise<void> {
    return this.watch.whenSynced();
  }

  async stop(): Promise<void> {
    clearTimeout(this.graceTimer);
    await this.watch.stop();
  }

  /** The route for a request: a sleeping one first, else one in its grace period. */
  match(host: string, path: string): RouteMatch | undefined {
    const sleeping = this.table.match(host, path);
    if (sleeping) return { route: sleeping, state: 'sleeping' };
    this.pruneGrace();
    const recent = this.graceTable.match(host, path);
    return recent ? { route: recent, state: 'grace' } : undefined;
  }

  /**
   * The route /_nozzle/status reports on: the one the page's own URL matches
   * (`path`, from its Referer), else the first rule naming the host (sleeping
   * before grace). A host-less rule only counts when the path matches it.
   */
  statusRoute(host: string, path: string): RouteMatch | undefined {
    const exact = this.match(host, path);
    if (exact) return exact;
    const sleeping = this.table.routesForHost(host)[0];
    if (sleeping) return { route: sleeping, state: 'sleeping' };
    const recent = this.graceTable.routesForHost(host)[0];
    return recent ? { route: recent, state: 'grace' } : undefined;
  }

  /** The recorded backend Services of a sleeping namespace: what a wake waits for. */
  servicesOf(namespace: string): Set<string> {
    const out = new Set<string>();
    for (const route of this.table.routes()) if (route.namespace === namespace) out.add(route.service);
    return out;
  }

  isSleeping(namespace: string): boolean {
    for (const route of this.table.routes()) if (route.namespace === namespace) return true;
    return false;
  }

  private replace(items: readonly V1Ingress[]): void {
    const keep = new Set(items.map(keyOf));
    for (const key of [...this.byIngress.keys()]) if (!keep.has(key)) this.delete(key, false);
    for (const item of items) this.set(item, false);
    this.rebuild();
  }

  private set(ingress: V1Ingress, rebuild = true): void {
    const key = keyOf(ingress);
    const { routes, problems, unrouted } = routesOfIngress(ingress);
    const generation = ingress.metadata?.generation;
    const before = this.byIngress.get(key);
    if (problems.length > 0 && (before === undefined || before.generation !== generation)) {
      this.options.log.warn({ ingress: key, problems }, 'some nozzle.io/backends records cannot be routed');
    }
    const namespace = ingress.metadata?.namespace ?? '';
    const wasManaged = [...this.byIngress.entries()].some(
      ([k, indexed]) => k !== key && indexed.routes[0]?.namespace === namespace,
    );
    this.retire(before?.routes, routes);
    this.byIngress.set(key, { routes, unrouted, generation });
    if (rebuild) this.rebuild();
    if (routes.length === 0) return;
    // The namespace went (back) to sleep: a new managed Ingress, or (when a
    // relist merged "restored" and "put back to sleep" into one update) the
    // spec of a managed one changed. Its old grace routes and a finished wake
    // lead to nothing now. No spec changes while a wake is in progress.
    const newlyManaged = !before?.routes.length && !wasManaged;
    const changed =
      before !== undefined && (before.generation !== generation || !sameRoutes(before.routes, routes));
    if (newlyManaged || changed) {
      this.dropGrace(namespace);
      this.options.onNamespaceManaged?.(namespace);
    }
  }

  private dropGrace(namespace: string): void {
    if (!this.grace.some((g) => g.route.namespace === namespace)) return;
    this.grace = this.grace.filter((g) => g.route.namespace !== namespace);
    this.graceTable = new RouteTable(this.grace.map((g) => g.route));
  }

  private delete(key: string, rebuild = true): void {
    const before = this.byIngress.get(key);
    if (!before) return;
    this.byIngress.delete(key);
    this.retire(before.routes, []);
    if (rebuild) this.rebuild();
  }

  /** Routes an Ingress had and no longer has go into their grace period. */
  private retire(before: readonly Route[] | undefined, after: readonly Route[]): void {
    if (!before || this.options.wakeGraceMs <= 0) return;
    const still = new Set(after.map(routeKey));
    const until = Date.now() + this.options.wakeGraceMs;
    const retired = before.filter((r) => !still.has(routeKey(r)));
    if (retired.length === 0) return;
    const replaced = new Set(retired.map(routeKey));
    this.grace = [
      ...this.grace.filter((g) => !replaced.has(routeKey(g.route))),
      ...retired.map((route) => ({ route, until })),
    ];
    this.graceTable = new RouteTable(this.grace.map((g) => g.route));
    this.scheduleGracePrune();
  }

  private pruneGrace(): void {
    const now = Date.now();
    if (!this.grace.some((g) => g.until <= now)) return;
    this.grace = this.grace.filter((g) => g.until > now);
    this.graceTable = new RouteTable(this.grace.map((g) => g.route));
    this.notify();
  }

  private scheduleGracePrune(): void {
    clearTimeout(this.graceTimer);
    const next = Math.min(...this.grace.map((g) => g.until));
    if (!Number.isFinite(next)) return;
    this.graceTimer = setTimeout(
      () => {
        this.pruneGrace();
        if (this.grace.length > 0) this.scheduleGracePrune();
      },
      Math.max(0, next - Date.now()) + 10,
    );
    this.graceTimer.unref();
  }

  private rebuild(): void {
    this.table = new RouteTable([...this.byIngress.values()].flatMap((i) => i.routes));
    this.reportConflicts(this.table.conflicts);
    this.notify();
  }

  /** Logs each conflict once, when it appears (and when it is over). */
  private reportConflicts(conflicts: readonly RouteConflict[]): void {
    const now = new Map(conflicts.map((c) => [conflictKey(c), c]));
    for (const [key, c] of now) {
      if (this.reportedConflicts.has(key)) continue;
      this.options.log.warn(
        {
          host: c.host || '*',
          pathType: c.pathType,
          path: c.path,
          namespaces: c.namespaces,
          ingresses: c.routes.map((r) => `${r.namespace}/${r.ingress}`),
        },
        'several namespaces claim one host + path: the activator refuses it for all of them (404) until only one does',
      );
    }
    for (const key of this.reportedConflicts) {
      if (!now.has(key)) this.options.log.info({ conflict: key }, 'host + path conflict resolved');
    }
    this.reportedConflicts = new Set(now.keys());
  }

  private notify(): void {
    let unrouted = 0;
    for (const indexed of this.byIngress.values()) unrouted += indexed.unrouted;
    this.options.onChange?.({
      sleeping: this.table.size,
      grace: this.graceTable.size,
      unrouted,
      conflicting: this.table.conflicts.reduce((n, c) => n + c.routes.length, 0),
    });
  }
}

const keyOf = (ingress: V1Ingress): string => `${ingress.metadata?.namespace}/${ingress.metadata?.name}`;

const conflictKey = (c: RouteConflict): string =>
  `${c.host || '*'} ${c.pathType === 'Exact' ? 'Exact' : 'Prefix'} ${c.path} ${c.namespaces.join(',')}`;

function sameRoutes(a: readonly Route[], b: readonly Route[]): boolean {
  const text = (routes: readonly Route[]): string =>
    routes
      .map((r) => `${routeKey(r)}\u0000${r.service}\u0000${r.port}`)
      .sort()
      .join('\n');
  return text(a) === text(b);
}

const routeKey = (r: Route): string =>
  `${r.namespace}\u0000${r.ingress}\u0000${r.host}\u0000${r.pathType}\u0000${r.path}`;
