/**
 * Where a recorded backend lives: `<service>.<namespace>.svc.<domain>:<port>`,
 * a named Service port resolved from the Service. The dev-only override map
 * (NOZZLE_DEV_UPSTREAM_OVERRIDES, `namespace/service=host:port`) replaces the
 * whole address, for demos and tests without cluster DNS.
 */
import type { Kube } from '../lib/kube/client.js';
import type { Route } from './route-table.js';

export class UpstreamAddressError extends Error {
  override readonly name = 'UpstreamAddressError';
}

export interface UpstreamAddressOptions {
  readonly kube: Kube;
  readonly clusterDomain: string;
  readonly devUpstreams: ReadonlyMap<string, string>;
  /** How long a resolved named port is trusted. */
  readonly cacheMs?: number;
}

export class UpstreamAddresses {
  private readonly namedPorts = new Map<string, { port: number; until: number }>();

  constructor(private readonly options: UpstreamAddressOptions) {}

  /** `http://host:port` of the route's backend. */
  async origin(route: Route): Promise<string> {
    const override = this.options.devUpstreams.get(`${route.namespace}/${route.service}`);
    if (override !== undefined) return `http://${override}`;
    const port = typeof route.port === 'number' ? route.port : await this.namedPort(route, route.port);
    return `http://${route.service}.${route.namespace}.svc.${this.options.clusterDomain}:${port}`;
  }

  private async namedPort(route: Route, name: string): Promise<number> {
    const key = `${route.namespace}/${route.service}/${name}`;
    const cached = this.namedPorts.get(key);
    if (cached && cached.until > Date.now()) return cached.port;
    const service = await this.options.kube.core.readNamespacedService({
      namespace: route.namespace,
      name: route.service,
    });
    const port = service.spec?.ports?.find((p) => p.name === name)?.port;
    if (port === undefined) {
      throw new UpstreamAddressError(
        `Service ${route.namespace}/${route.service} has no port named "${name}" (Ingress ${route.ingress})`,
      );
    }
    this.namedPorts.set(key, { port, until: Date.now() + (this.options.cacheMs ?? 30_000) });
    return port;
  }
}
