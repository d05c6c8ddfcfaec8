/**
 * Host + path -> recorded backend, with the matching rules Kubernetes defines
 * for Ingress (networking.k8s.io/v1):
 *
 * - host: an exact name (case-insensitive), a wildcard `*.example.com` that
 *   matches exactly one more DNS label, or "" which matches every host. A
 *   request is matched against exact hosts first, then wildcards, then "".
 * - path: `Exact` matches the URL path exactly (case-sensitive); `Prefix`
 *   matches element-wise on `/` (`/foo` matches `/foo`, `/foo/` and `/foo/bar`
 *   but not `/foobar`; a trailing slash on the prefix is ignored; `/` matches
 *   everything). `ImplementationSpecific` is treated as `Prefix`.
 * - the longest matching path wins; on equal length `Exact` beats `Prefix`.
 *
 * One host + path claimed by Ingresses of two or more namespaces is refused
 * for all of them (a request for it gets 404) and reported in `conflicts`:
 * picking one would let a tenant who can create Ingresses take another
 * namespace's host while it sleeps. Two Ingresses of ONE namespace claiming
 * it: the first by name wins.
 *
 * Pure: no I/O, rebuilt from scratch whenever the index changes.
 */

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** One rewritten Ingress path and the backend it had before Nozzle rewrote it. */
export interface Route {
  readonly namespace: string;
  readonly ingress: string;
  /** Lower-case; "" for a rule without a host; may start with `*.`. */
  readonly host: string;
  readonly path: string;
  readonly pathType: PathType;
  /** The original backend Service, always in `namespace`. */
  readonly service: string;
  /** The Service port: a number, or a port name resolved from the Service. */
  readonly port: number | string;
}

/** One host + path claimed by several namespaces: refused for all of them. */
export interface RouteConflict {
  readonly host: string;
  readonly pathType: PathType;
  readonly path: string;
  /** Sorted. */
  readonly namespaces: readonly string[];
  /** The refused routes, one per claiming Ingress path. */
  readonly routes: readonly Route[];
}

interface Entry {
  readonly route: Route;
  /** The path compared against the request: the prefix without trailing slashes. */
  readonly match: string;
  readonly exact: boolean;
}

export class RouteTable {
  private readonly exactHosts = new Map<string, Entry[]>();
  private readonly wildcardHosts = new Map<string, Entry[]>();
  private readonly anyHost: Entry[] = [];
  readonly size: number;
  readonly conflicts: readonly RouteConflict[];

  constructor(routes: Iterable<Route>) {
    let size = 0;
    const claims = new Map<string, Route[]>();
    // Deterministic whatever order the watch delivered the Ingresses in.
    const sorted = [...routes].sort((a, b) =>
      `${a.namespace}/${a.ingress}`.localeCompare(`${b.namespace}/${b.ingress}`),
    );
    for (const route of sorted) {
      const key = `${route.host}\u0000${route.pathType === 'Exact' ? 'E' : 'P'}\u0000${route.path}`;
      const list = claims.get(key);
      if (list) list.push(route);
      else claims.set(key, [route]);
    }
    const conflicts: RouteConflict[] = [];
    for (const claimants of claims.values()) {
      const namespaces = [...new Set(claimants.map((r) => r.namespace))].sort();
      const first = claimants[0]!;
      if (namespaces.length > 1) {
        conflicts.push({
          host: first.host,
          pathType: first.pathType,
          path: first.path,
          namespaces,
          routes: claimants,
        });
        continue;
      }
      // Several Ingresses of one namespace: the first by name wins.
      const route = first;
      const exact = route.pathType === 'Exact';
      const entry: Entry = { route, exact, match: exact ? route.path : route.path.replace(/\/+$/, '') };
      if (route.host === '') this.anyHost.push(entry);
      else if (route.host.startsWith('*.')) push(this.wildcardHosts, route.host.slice(2), entry);
      else push(this.exactHosts, route.host, entry);
      size++;
    }
    this.conflicts = conflicts;
    this.size = size;
    for (const list of [...this.exactHosts.values(), ...this.wildcardHosts.values(), this.anyHost]) {
      list.sort(byPrecedence);
    }
  }

  /** The route for a request, or undefined: the activator then answers 404. */
  match(host: string, path: string): Route | undefined {
    for (const entries of this.candidates(normalizeHost(host))) {
      for (const entry of entries) if (matches(entry, path)) return entry.route;
    }
    return undefined;
  }

  /**
   * The routes of rules that name this host (exactly, then by wildcard); not
   * those of host-less rules, which name no host in particular.
   */
  routesForHost(host: string): Route[] {
    return this.candidates(normalizeHost(host))
      .filter((entries) => entries !== this.anyHost)
      .flatMap((entries) => entries.map((e) => e.route));
  }

  /** Every route, in no particular order. */
  *routes(): Iterable<Route> {
    for (const list of [...this.exactHosts.values(), ...this.wildcardHosts.values(), this.anyHost]) {
      for (const entry of list) yield entry.route;
    }
  }

  private candidates(host: string): Entry[][] {
    const out: Entry[][] = [];
    const exact = this.exactHosts.get(host);
    if (exact) out.push(exact);
    const dot = host.indexOf('.');
    if (dot > 0) {
      const wildcard = this.wildcardHosts.get(host.slice(dot + 1));
      if (wildcard) out.push(wildcard);
    }
    if (this.anyHost.length > 0) out.push(this.anyHost);
    return out;
  }
}

/** `Example.COM.:8080` -> `example.com`; `[::1]:80` -> `[::1]`. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function matches(entry: Entry, path: string): boolean {
  if (entry.exact) return path === entry.match;
  if (entry.match === '') return true;
  return path === entry.match || path.startsWith(`${entry.match}/`);
}

/** Longest path first; on a tie, Exact before Prefix. */
function byPrecedence(a: Entry, b: Entry): number {
  if (a.match.length !== b.match.length) return b.match.length - a.match.length;
  return Number(b.exact) - Number(a.exact);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
