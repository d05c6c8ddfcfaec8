/**
 * The index: every Ingress labelled `nozzle.io/managed=true`, cluster-wide,
 * from a watch, turned into a RouteTable of the backends Nozzle recorded.
 *
 * Routes that leave the index (the wake restored the Ingress, or it was
 * deleted) stay as "grace" routes for `wakeGrace`: requests that still reach
 * the activator through a stale ingress configuration are forwarded to the
 * recorded backend instead of getting 404.
 */
import type { KubeConfig, V1Ingress } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { labels } from '../lib/names.js';
import { routesOfIngress } from './ingress-routes.js';
import { ListWatch } from './list-watch.js';
import { RouteTable, type Route } from './route-table.js';

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
  readonly onChange?: (sleeping: number, grace: number) => void;
}

interface GraceRoute {
  readonly route: Route;
  readonly until: number;
}

export const MANAGED_SELECTOR = `${labels.managed}=true`;

export class IngressIndex {
  private readonly byIngress = new Map<string, Route[]>();
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
    const { routes, problems } = routesOfIngress(ingress);
    if (problems.length > 0) {
      this.options.log.warn({ ingress: key, problems }, 'some nozzle.io/backends records cannot be routed');
    }
    const before = this.byIngress.get(key);
    const namespace = ingress.metadata?.namespace ?? '';
    const wasManaged = [...this.byIngress.values()].some((r) => r[0]?.namespace === namespace);
    this.retire(before, routes);
    this.byIngress.set(key, routes);
    if (rebuild) this.rebuild();
    if (!before && !wasManaged && routes.length > 0) {
      // The namespace went (back) to sleep: its old grace routes lead to nothing now.
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
    this.retire(before, []);
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
    this.table = new RouteTable([...this.byIngress.values()].flat());
    this.notify();
  }

  private notify(): void {
    this.options.onChange?.(this.table.size, this.graceTable.size);
  }
}

const keyOf = (ingress: V1Ingress): string => `${ingress.metadata?.namespace}/${ingress.metadata?.name}`;

const routeKey = (r: Route): string =>
  `${r.namespace}\u0000${r.ingress}\u0000${r.host}\u0000${r.pathType}\u0000${r.path}`;
