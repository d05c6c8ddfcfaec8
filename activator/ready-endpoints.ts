/**
 * Where a spliced or held connection for one Service port goes: the ready pod
 * addresses of the Service's own EndpointSlices. Nozzle's takeover slices
 * point at the activator itself and are skipped, as is anything listed as a
 * ClusterIP (forwarding there would come straight back). A named targetPort
 * is resolved the way kube-proxy does: the slice's port of the same name as
 * the Service port carries the number, which may differ from slice to slice.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1ServicePort } from '@kubernetes/client-node';
import { MANAGER, labels } from '../lib/names.js';

export interface ServicePortTarget {
  /** The Service's name (the slices' `kubernetes.io/service-name`). */
  readonly service: string;
  readonly port: Pick<V1ServicePort, 'name' | 'port' | 'targetPort' | 'protocol'>;
  /** The Service's ClusterIPs: never returned, whatever a slice says. */
  readonly clusterIPs?: readonly string[];
}

export interface ReadyEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** `ip:port`, or `[ip]:port` for IPv6. */
  readonly address: string;
}

/**
 * The ready endpoints of `target`, in slice order, each address once. Empty
 * when none is ready: an endpoint that is serving but not ready (terminating,
 * or failing its readiness probe) is never used instead.
 */
export function readyEndpoints(
  slices: Iterable<V1EndpointSlice>,
  target: ServicePortTarget,
): ReadyEndpoint[] {
  const portName = target.port.name ?? '';
  const protocol = target.port.protocol ?? 'TCP';
  const excluded = new Set(target.clusterIPs ?? []);
  const out = new Map<string, ReadyEndpoint>();
  for (const slice of slices) {
    const sliceLabels = slice.metadata?.labels ?? {};
    if (sliceLabels[labels.serviceName] !== target.service) continue;
    if (sliceLabels[labels.endpointSliceManagedBy] === MANAGER) continue;
    const family = slice.addressType === 'IPv4' ? 4 : slice.addressType === 'IPv6' ? 6 : undefined;
    if (family === undefined) continue; // FQDN: not a pod address
    const port = slicePort(slice, portName, protocol, target.port);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // Unset means ready (discovery.k8s.io/v1).
      if (endpoint.conditions?.ready === false) continue;
      // Only the first address counts: the controller writes one, kube-proxy reads one.
      const ip = endpoint.addresses[0];
      if (ip === undefined || isIP(ip) !== family || excluded.has(ip)) continue;
      const address = family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
      out.set(address, { ip, port, family, address });
    }
  }
  return [...out.values()];
}

/** The slice's number for the Service port, or undefined when the slice does not carry it. */
function slicePort(
  slice: V1EndpointSlice,
  name: string,
  protocol: string,
  servicePort: ServicePortTarget['port'],
): number | undefined {
  const port = slice.ports?.find((p) => (p.name ?? '') === name && (p.protocol ?? 'TCP') === protocol);
  if (!port) return undefined;
  if (port.port !== undefined) return port.port;
  // A port without a number means "all ports": the Service's own targetPort, when it is a number.
  const targetPort = servicePort.targetPort ?? servicePort.port;
  return typeof targetPort === 'number' ? targetPort : undefined;
}
