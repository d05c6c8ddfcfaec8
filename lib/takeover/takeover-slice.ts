/**
 * The takeover EndpointSlice of a Service (design v2, "Sleep" step 1, and
 * "Names users see"): while the workload sleeps, kube-proxy, ingress and
 * Gateway controllers read it beside the Service's own (empty) slices and
 * send the Service's traffic to the activator. One slice per address family
 * of the Service; each Service port becomes a slice port of the same name,
 * protocol and appProtocol, whose number is the activator listener port
 * assigned to that Service port; the endpoints are the ready activator pods.
 * Pure: building and comparing, no API calls (takeover.ts writes them).
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type {
  DiscoveryV1EndpointPort,
  V1Endpoint,
  V1EndpointSlice,
  V1Service,
} from '@kubernetes/client-node';
import { MANAGER, TAKEOVER_SLICE_INFIX, annotations, labels } from '../names.js';
import { servicePortKey } from './port-assignment.js';

export type AddressFamily = 'IPv4' | 'IPv6';

/** A ready activator pod: one entry per pod IP (a dual-stack pod is two entries). */
export interface ActivatorPod {
  readonly ip: string;
  readonly podName: string;
  readonly podUid: string;
  /** The activator's namespace (Nozzle's), for the endpoint's targetRef. */
  readonly namespace: string;
  readonly nodeName?: string;
}

/** The labels design.md fixes for a takeover slice, and nothing else. */
export function takeoverLabels(service: string): Record<string, string> {
  return {
    [labels.serviceName]: service,
    [labels.endpointSliceManagedBy]: MANAGER,
    [labels.managed]: 'true',
  };
}

/** Selects every takeover slice (of one Service, when named). */
export function takeoverSelector(service?: string): string {
  const base = `${labels.endpointSliceManagedBy}=${MANAGER},${labels.managed}=true`;
  return service === undefined ? base : `${base},${labels.serviceName}=${service}`;
}

/** Whether a slice is Nozzle's to write: anything else (the controller's, a user's) is never touched. */
export const isTakeoverSlice = (slice: V1EndpointSlice): boolean =>
  slice.metadata?.labels?.[labels.endpointSliceManagedBy] === MANAGER;

const MAX_NAME = 63;

/**
 * `<service>-nozzle-<ipv4|ipv6>`. Service names have up to 63 characters;
 * when the result would be longer than 63 (readable in kubectl, a valid label
 * value), the Service name is cut and a hash of the whole name keeps it unique.
 */
export function takeoverSliceName(service: string, family: AddressFamily): string {
  const suffix = `${TAKEOVER_SLICE_INFIX}${family.toLowerCase()}`;
  if (service.length + suffix.length <= MAX_NAME) return `${service}${suffix}`;
  const hash = createHash('sha256').update(service).digest('hex').slice(0, 8);
  const head = service.slice(0, MAX_NAME - suffix.length - hash.length - 1).replace(/[-.]+$/, '');
  return `${head}-${hash}${suffix}`;
}

/** The Service's address families (`spec.ipFamilies`; IPv4 when the apiserver set none). */
export function serviceFamilies(service: V1Service): AddressFamily[] {
  const families = (service.spec?.ipFamilies ?? []).filter(
    (f): f is AddressFamily => f === 'IPv4' || f === 'IPv6',
  );
  return families.length > 0 ? families : ['IPv4'];
}

/** The endpoints of a family: its ready activator pods, sorted by address (so equal sets compare equal). */
export function activatorEndpoints(pods: readonly ActivatorPod[], family: AddressFamily): V1Endpoint[] {
  const inFamily = family === 'IPv4' ? isIPv4 : isIPv6;
  return pods
    .filter((pod) => inFamily(pod.ip))
    .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))
    .map((pod) => ({
      addresses: [pod.ip],
      conditions: { ready: true, serving: true, terminating: false },
      ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.podName, uid: pod.podUid },
    }));
}

export class MissingPortError extends Error {
  override readonly name = 'MissingPortError';
}

/** One slice port per Service port: its name, protocol and appProtocol; the number is the activator's port. */
export function takeoverPorts(
  service: V1Service,
  ports: ReadonlyMap<string, number>,
): DiscoveryV1EndpointPort[] {
  return (service.spec?.ports ?? []).map((servicePort) => {
    const port = ports.get(servicePortKey(servicePort));
    if (port === undefined) {
      throw new MissingPortError(
        `no activator port assigned to port ${servicePortKey(servicePort)} of Service ${service.metadata?.name}`,
      );
    }
    return {
      name: servicePort.name ?? '',
      protocol: servicePort.protocol ?? 'TCP',
      ...(servicePort.appProtocol ? { appProtocol: servicePort.appProtocol } : {}),
      port,
    };
  });
}

export interface TakeoverSliceInput {
  /** The Service as read from the cluster (name, namespace, uid, ports, ipFamilies). */
  readonly service: V1Service;
  /** The ready activator pods. */
  readonly activatorPods: readonly ActivatorPod[];
  /** Service port (name, or number when unnamed) -> activator port (assignPorts). */
  readonly ports: ReadonlyMap<string, number>;
  /** When this ensure ran: written as nozzle.io/ensured-at (the activator leader leaves a slice younger than its settle time alone). */
  readonly ensuredAt?: Date;
}

/** The takeover slice of one address family. */
export function takeoverSlice(input: TakeoverSliceInput, family: AddressFamily): V1EndpointSlice {
  const { service } = input;
  const name = service.metadata?.name ?? '';
  const uid = service.metadata?.uid ?? '';
  if (!name || !uid) throw new Error('a takeover slice needs a Service read from the cluster (name and uid)');
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: takeoverSliceName(name, family),
      namespace: service.metadata?.namespace,
      labels: takeoverLabels(name),
      ...(input.ensuredAt ? { annotations: { [annotations.ensuredAt]: input.ensuredAt.toISOString() } } : {}),
      // Deleting the Service deletes the slice; the Service's own controller stays its controller.
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid, controller: false }],
    },
    addressType: family,
    ports: takeoverPorts(service, input.ports),
    endpoints: activatorEndpoints(input.activatorPods, family),
  };
}

/** One slice per address family of the Service. */
export const takeoverSlices = (input: TakeoverSliceInput): V1EndpointSlice[] =>
  serviceFamilies(input.service).map((family) => takeoverSlice(input, family));

/**
 * Pure: whether `current` (from the cluster) already says what `wanted` says:
 * Nozzle's labels and annotations (an ensure's new nozzle.io/ensured-at makes
 * it differ, so every ensure rewrites it), the owner, the address type, ports
 * and endpoints. Fields the apiserver fills in and labels or annotations
 * others added do not count.
 */
export function sliceMatches(current: V1EndpointSlice, wanted: V1EndpointSlice): boolean {
  const includes = (have: Record<string, string> | undefined, want: Record<string, string> | undefined) =>
    Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
  const metadataMatches =
    includes(current.metadata?.labels, wanted.metadata?.labels) &&
    includes(current.metadata?.annotations, wanted.metadata?.annotations);
  const owners = (slice: V1EndpointSlice) =>
    (slice.metadata?.ownerReferences ?? []).map(
      (o) => `${o.kind}/${o.name}/${o.uid}/${o.controller === true}`,
    );
  return (
    metadataMatches &&
    JSON.stringify(owners(current)) === JSON.stringify(owners(wanted)) &&
    current.addressType === wanted.addressType &&
    JSON.stringify(normalPorts(current)) === JSON.stringify(normalPorts(wanted)) &&
    JSON.stringify(normalEndpoints(current)) === JSON.stringify(normalEndpoints(wanted))
  );
}

const normalPorts = (slice: V1EndpointSlice) =>
  (slice.ports ?? []).map((p) => [p.name ?? '', p.protocol ?? 'TCP', p.appProtocol ?? '', p.port ?? 0]);

/** The endpoints' fields Nozzle sets, in a fixed order (the apiserver may return keys in another). */
const normalEndpoints = (slice: V1EndpointSlice) =>
  (slice.endpoints ?? []).map((e) => [
    e.addresses,
    e.conditions?.ready ?? null,
    e.conditions?.serving ?? null,
    e.conditions?.terminating ?? null,
    e.nodeName ?? '',
    e.targetRef?.kind ?? '',
    e.targetRef?.namespace ?? '',
    e.targetRef?.name ?? '',
    e.targetRef?.uid ?? '',
  ]);

/** Pure: whether a slice's endpoints are already the activator pods of its address family. */
export function endpointsMatch(slice: V1EndpointSlice, pods: readonly ActivatorPod[]): boolean {
  const wanted = {
    endpoints: activatorEndpoints(pods, slice.addressType as AddressFamily),
  } as V1EndpointSlice;
  return JSON.stringify(normalEndpoints(slice)) === JSON.stringify(normalEndpoints(wanted));
}
