/**
 * The one PromQL query per round that says when each namespace last had
 * requests (docs/activity.md). Its result is a vector with a `namespace`
 * label whose value is the Unix time, in seconds, of the namespace's last
 * request within the lookback; a namespace absent from it had none.
 *
 * A preset's query is built from the gateway's request counter:
 * `increase` over a short range (counters reset when the gateway reloads),
 * `> 0`, `timestamp`, then `max_over_time` of a subquery over the lookback.
 * The time it returns is never earlier than the last request: it is the end
 * of the last subquery step whose range saw one, so it errs towards awake by
 * at most a range.
 *
 * A custom query (NOZZLE_ACTIVITY_QUERY) may use `$__lookback`, `$__step`
 * and `$__range`, replaced by PromQL durations.
 */
export const PRESETS = ['traefik', 'envoy-gateway', 'istio', 'ingress-nginx'] as const;
export type Preset = (typeof PRESETS)[number];

export interface QueryWindow {
  /** How far back to look: the longest idle-after of the opted-in namespaces (ms). */
  readonly lookback: number;
  /** How often Prometheus scrapes the gateway (ms, NOZZLE_ACTIVITY_SCRAPE_INTERVAL); default 1m. */
  readonly scrapeInterval?: number;
}

export interface ActivityQuery {
  readonly promql: string;
  /**
   * `exact`: the namespace label is the namespace. `prefix`: it is a gateway
   * name that starts with `<namespace>-` (Traefik), and it counts for every
   * opted-in namespace it could belong to: activity is never lost to an
   * ambiguous name, at worst a namespace stays awake longer.
   */
  readonly match: 'exact' | 'prefix';
}

/** Per preset: the counter with its selector, and the label_replace that puts the namespace in `namespace`. */
const COUNTERS: Record<
  Preset,
  { counter: string; source: string; regex: string; match: 'exact' | 'prefix' }
> = {
  // Service names: `<ns>-<service>-<port>@kubernetes` (Ingress), `<ns>-<service>-<port>@kubernetesgateway`
  // and `httproute-<ns>-<route>-...@kubernetesgateway` (Gateway API), `...@kubernetescrd` (IngressRoute).
  traefik: {
    counter: 'traefik_service_requests_total{service=~".+@kubernetes(?:gateway|crd)?"}',
    source: 'service',
    regex: '(?:httproute-)?(.+)@kubernetes(?:gateway|crd)?',
    match: 'prefix',
  },
  // Envoy's cluster per route: `httproute/<ns>/<route>/rule/<n>` (also grpcroute, tcproute, ...).
  'envoy-gateway': {
    counter: 'envoy_cluster_upstream_rq_total{envoy_cluster_name=~"[a-z]+route/.+"}',
    source: 'envoy_cluster_name',
    regex: '[a-z]+route/([^/]+)/.*',
    match: 'exact',
  },
  istio: {
    counter: 'istio_requests_total{destination_service_namespace!=""}',
    source: 'destination_service_namespace',
    regex: '(.+)',
    match: 'exact',
  },
  // The Ingress's namespace is `namespace`, or `exported_namespace` when the scrape set its own `namespace`.
  'ingress-nginx': {
    counter: 'nginx_ingress_controller_requests',
    source: 'exported_namespace',
    regex: '(.+)',
    match: 'exact',
  },
};

/** `1m`, `90s`: a PromQL duration of whole seconds. */
export const promDuration = (ms: number): string => {
  const s = Math.max(1, Math.ceil(ms / 1_000));
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
};

/**
 * Subquery resolution and counter range for a lookback: at most ~1000 steps,
 * each a whole number of scrape intervals (at least one). The range is a
 * step and two scrapes: increase() sees a request when the scrapes before
 * and after it both fall in it. With a 1m scrape interval: step 1m, range
 * 3m, so the last request is known to within 3m; a 5s scrape knows it to
 * within 15s (short idle-afters need a short scrape interval).
 */
export function windowParts(window: QueryWindow): { lookback: string; step: string; range: string } {
  const scrape = Math.max(1_000, Math.ceil((window.scrapeInterval ?? 60_000) / 1_000) * 1_000);
  const step = Math.max(scrape, Math.ceil(window.lookback / 1000 / scrape) * scrape);
  const range = step + 2 * scrape;
  const lookback = Math.ceil(window.lookback / step) * step;
  return { lookback: promDuration(lookback), step: promDuration(step), range: promDuration(range) };
}

export function presetQuery(preset: Preset, window: QueryWindow): ActivityQuery {
  const { counter, source, regex, match } = COUNTERS[preset];
  const w = windowParts(window);
  const perNamespace = `sum by (namespace) (label_replace(increase(${counter}[${w.range}]), "namespace", "$1", "${source}", "${regex}"))`;
  return { promql: `max_over_time((timestamp(${perNamespace} > 0))[${w.lookback}:${w.step}])`, match };
}

export function customQuery(template: string, window: QueryWindow): ActivityQuery {
  const w = windowParts(window);
  const promql = template
    .replaceAll('$__lookback', w.lookback)
    .replaceAll('$__step', w.step)
    .replaceAll('$__range', w.range);
  return { promql, match: 'exact' };
}

/**
 * The last request per opted-in namespace (ms), from the query's series.
 * With `prefix`, a series counts for every namespace whose name followed by
 * `-` starts it; the newest wins.
 */
export function lastRequests(
  series: readonly { readonly namespace: string; readonly at: number }[],
  match: ActivityQuery['match'],
  namespaces: readonly string[],
): Map<string, number> {
  const out = new Map<string, number>();
  const put = (ns: string, at: number): void => {
    if ((out.get(ns) ?? -Infinity) < at) out.set(ns, at);
  };
  const known = new Set(namespaces);
  for (const s of series) {
    if (known.has(s.namespace)) put(s.namespace, s.at);
    if (match !== 'prefix') continue;
    // Every `<prefix>-` of the name that is an opted-in namespace: as many look-ups as the name has dashes.
    for (let dash = s.namespace.indexOf('-'); dash > 0; dash = s.namespace.indexOf('-', dash + 1)) {
      const candidate = s.namespace.slice(0, dash);
      if (known.has(candidate)) put(candidate, s.at);
    }
  }
  return out;
}
