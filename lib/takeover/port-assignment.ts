/**
 * Activator listener ports (design v2, "Wake"): every (namespace, Service,
 * service port) under takeover gets its own port, unique in the cluster,
 * stable while the Service exists, and recorded in Kubernetes, so that the
 * activator knows the target from the port alone.
 *
 * One coordination.k8s.io/v1 Lease per assigned port, in Nozzle's namespace,
 * named `nozzle-port-<port>`: the apiserver's name uniqueness is the lock
 * (taking a port is a `create`; a 409 means it is taken), so two workers can
 * never hold the same port. The Lease says whose port it is in labels (to
 * list a Service's Leases in one call), annotations (the service port and the
 * Service's uid) and `spec.holderIdentity` (`<ns>/<svc>/<port>`). Nothing
 * renews these Leases: they live as long as the Service (releaseStale).
 *
 * Every Lease read from the cluster is validated; one that does not read as an
 * assignment is skipped with the reason, never served and never deleted.
 */
import { createHash } from 'node:crypto';
import type { V1Lease, V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { isConflict, isNotFound, undefinedIfNotFound } from '../errors.js';
import { FIELD_MANAGER, MANAGER, PORT_LEASE_PREFIX, annotations, labels } from '../names.js';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export const DEFAULT_PORT_RANGE: PortRange = { first: 20000, last: 29999 };

export class PortRangeError extends Error {
  override readonly name = 'PortRangeError';
}

/** `20000-29999` (both ends included, 1024..65535). */
export function parsePortRange(text: string): PortRange {
  const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || first < 1024 || last > 65535 || first > last) {
    throw new PortRangeError(`"${text}" is not a port range: <first>-<last>, 1024 <= first <= last <= 65535`);
  }
  return { first, last };
}

/** The port range has no free port left: every port has a Lease. */
export class PortRangeExhaustedError extends Error {
  override readonly name = 'PortRangeExhaustedError';
}

/** Whose port it is. `servicePort` is the Service port's name, or its number when it has none. */
export interface PortTarget {
  readonly namespace: string;
  readonly service: string;
  readonly servicePort: string;
}

/** A valid port Lease, as read from the cluster. */
export interface PortLease extends PortTarget {
  readonly port: number;
  readonly serviceUid: string;
  /** The Lease's name, uid and resourceVersion (delete preconditions). */
  readonly lease: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** A Lease carrying Nozzle's managed-by label that is not a valid assignment: skipped. */
export interface InvalidLease {
  readonly lease: string;
  readonly reason: string;
}

/** Duplicate Leases for one service port, reduced to the lowest port. */
export interface Repair extends PortTarget {
  readonly kept: number;
  readonly released: readonly number[];
}

/** How a Service port is named in Leases and takeover slices: its name, or its number. */
export const servicePortKey = (port: { name?: string; port: number }): string =>
  port.name || String(port.port);

export const holderIdentity = (target: PortTarget): string =>
  `${target.namespace}/${target.service}/${target.servicePort}`;

export const portLeaseName = (port: number): string => `${PORT_LEASE_PREFIX}${port}`;

const sameTarget = (a: PortTarget, b: PortTarget): boolean => holderIdentity(a) === holderIdentity(b);

export function portLease(target: PortTarget, serviceUid: string, port: number): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: portLeaseName(port),
      labels: {
        [labels.appManagedBy]: MANAGER,
        [labels.serviceNamespace]: target.namespace,
        [labels.service]: target.service,
      },
      annotations: { [annotations.servicePort]: target.servicePort, [annotations.serviceUid]: serviceUid },
    },
    spec: { holderIdentity: holderIdentity(target) },
  };
}

const LEASE_NAME = new RegExp(`^${PORT_LEASE_PREFIX}([1-9]\\d{0,4})$`);

/** Pure: a Lease read from the cluster as an assignment, or why it is not one. */
export function readPortLease(lease: V1Lease): PortLease | InvalidLease {
  const meta = lease.metadata ?? {};
  const name = meta.name ?? '(no name)';
  const invalid = (reason: string): InvalidLease => ({ lease: name, reason });
  const port = Number(LEASE_NAME.exec(name)?.[1]);
  if (!(port >= 1 && port <= 65535)) return invalid(`the name is not ${PORT_LEASE_PREFIX}<port 1..65535>`);
  if (meta.labels?.[labels.appManagedBy] !== MANAGER) {
    return invalid(`label ${labels.appManagedBy} is not ${MANAGER}`);
  }
  const namespace = meta.labels[labels.serviceNamespace];
  const service = meta.labels[labels.service];
  const servicePort = meta.annotations?.[annotations.servicePort];
  const serviceUid = meta.annotations?.[annotations.serviceUid];
  if (!namespace) return invalid(`label ${labels.serviceNamespace} is missing or empty`);
  if (!service) return invalid(`label ${labels.service} is missing or empty`);
  if (!servicePort) return invalid(`annotation ${annotations.servicePort} is missing or empty`);
  if (!serviceUid) return invalid(`annotation ${annotations.serviceUid} is missing or empty`);
  const target = { namespace, service, servicePort };
  const holder = lease.spec?.holderIdentity;
  if (holder !== holderIdentity(target)) {
    return invalid(
      `spec.holderIdentity ${JSON.stringify(holder ?? null)} does not match its labels and annotations (${holderIdentity(target)})`,
    );
  }
  if (!meta.uid || !meta.resourceVersion)
    return invalid('no uid or resourceVersion (not read from the apiserver)');
  return { ...target, port, serviceUid, lease: name, uid: meta.uid, resourceVersion: meta.resourceVersion };
}

export const isInvalid = (read: PortLease | InvalidLease): read is InvalidLease => 'reason' in read;

/** Pure: where the probe for a free port starts, from a hash of `<ns>/<svc>/<port>`. */
export function startPort(target: PortTarget, range: PortRange = DEFAULT_PORT_RANGE): number {
  const hash = createHash('sha256').update(holderIdentity(target)).digest().readUInt32BE(0);
  return range.first + (hash % (range.last - range.first + 1));
}

/** Pure: the i-th port to try (0 is the start), upward and wrapping within the range. */
export function probePort(start: number, i: number, range: PortRange = DEFAULT_PORT_RANGE): number {
  const size = range.last - range.first + 1;
  return range.first + ((start - range.first + i) % size);
}

/**
 * Pure: Leases that assign the same service port (of the same Service uid) to
 * more than one port. The lowest port is kept (every worker picks the same one).
 */
export function duplicateLeases(leases: readonly PortLease[]): { keep: PortLease; extra: PortLease[] }[] {
  const groups = new Map<string, PortLease[]>();
  for (const lease of leases) {
    const key = `${holderIdentity(lease)}@${lease.serviceUid}`;
    groups.set(key, [...(groups.get(key) ?? []), lease]);
  }
  return [...groups.values()]
    .filter((group) => group.length > 1)
    .map((group) => {
      const [keep, ...extra] = [...group].sort((a, b) => a.port - b.port);
      return { keep: keep!, extra };
    });
}

export interface PortOptions {
  /** Nozzle's namespace, where the Leases live (`nozzle-system` in the manifests). */
  readonly systemNamespace: string;
  readonly range?: PortRange;
}

export interface PortAssignment {
  /** Service port (name, or number when unnamed) -> activator port, for every port of the Service. */
  readonly ports: ReadonlyMap<string, number>;
  /** Ports taken by this call. */
  readonly created: readonly number[];
  /** Duplicates found and released: the caller logs them. */
  readonly repaired: readonly Repair[];
  readonly invalid: readonly InvalidLease[];
}

const MANAGED = `${labels.appManagedBy}=${MANAGER}`;

async function listPortLeases(
  kube: Kube,
  systemNamespace: string,
  labelSelector: string,
): Promise<{ valid: PortLease[]; invalid: InvalidLease[] }> {
  const { items } = await kube.coordination.listNamespacedLease({
    namespace: systemNamespace,
    labelSelector,
  });
  const valid: PortLease[] = [];
  const invalid: InvalidLease[] = [];
  for (const item of items) {
    const read = readPortLease(item);
    if (isInvalid(read)) invalid.push(read);
    else valid.push(read);
  }
  return { valid, invalid };
}

/** Deletes the Lease only as it was read (uid and resourceVersion): false when it had already gone or changed. */
async function releaseLease(kube: Kube, systemNamespace: string, lease: PortLease): Promise<boolean> {
  try {
    await kube.coordination.deleteNamespacedLease({
      namespace: systemNamespace,
      name: lease.lease,
      body: { preconditions: { uid: lease.uid, resourceVersion: lease.resourceVersion } },
    });
    return true;
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return false;
    throw err;
  }
}

/** Releases all but the lowest port of each duplicated service port. */
async function repairDuplicates(
  kube: Kube,
  systemNamespace: string,
  leases: readonly PortLease[],
): Promise<{ repaired: Repair[]; kept: PortLease[] }> {
  const repaired: Repair[] = [];
  const dropped = new Set<PortLease>();
  for (const { keep, extra } of duplicateLeases(leases)) {
    const released: number[] = [];
    for (const lease of extra) {
      dropped.add(lease);
      if (await releaseLease(kube, systemNamespace, lease)) released.push(lease.port);
    }
    const { namespace, service, servicePort } = keep;
    repaired.push({ namespace, service, servicePort, kept: keep.port, released });
  }
  return { repaired, kept: leases.filter((lease) => !dropped.has(lease)) };
}

/**
 * Creates the Lease of the first free port from the target's start port. A
 * 409 whose Lease already holds this very target (another worker got there
 * first: both probe the same sequence) is taken as ours. After a few foreign
 * 409s in a row the taken ports are listed once and skipped without asking.
 */
async function takePort(
  kube: Kube,
  systemNamespace: string,
  range: PortRange,
  target: PortTarget,
  serviceUid: string,
): Promise<{ port: number; created: boolean }> {
  const size = range.last - range.first + 1;
  const start = startPort(target, range);
  let taken: Set<number> | undefined;
  let foreign = 0;
  let vanished = 0;
  const isOurs = (read: PortLease | InvalidLease): read is PortLease =>
    !isInvalid(read) && sameTarget(read, target) && read.serviceUid === serviceUid;
  for (let i = 0; i < size; i++) {
    const port = probePort(start, i, range);
    if (taken?.has(port)) continue;
    try {
      await kube.coordination.createNamespacedLease({
        namespace: systemNamespace,
        body: portLease(target, serviceUid, port),
        fieldManager: FIELD_MANAGER,
      });
      return { port, created: true };
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const holder = await kube.coordination
      .readNamespacedLease({ namespace: systemNamespace, name: portLeaseName(port) })
      .catch(undefinedIfNotFound);
    if (holder === undefined) {
      if (++vanished <= 3) i--; // freed in between: try the same port again
      continue;
    }
    if (isOurs(readPortLease(holder))) return { port, created: false };
    if (++foreign === 8 && taken === undefined) {
      // Crowded: list the taken ports once. One of them may already be ours
      // (another worker, a step ahead on the same probe sequence): reuse it.
      const all = await kube.coordination.listNamespacedLease({ namespace: systemNamespace });
      const ours = all.items.map(readPortLease).find(isOurs);
      if (ours !== undefined) return { port: ours.port, created: false };
      taken = new Set(all.items.map((lease) => Number(LEASE_NAME.exec(lease.metadata?.name ?? '')?.[1])));
    }
  }
  throw new PortRangeExhaustedError(
    `no free activator port for ${holderIdentity(target)}: every port of ${range.first}-${range.last} has a Lease in ${systemNamespace}`,
  );
}

/**
 * The activator ports of every port of `service` (as read from the cluster:
 * its uid counts). Reuses the Service's Leases (one list call), repairs
 * duplicates, takes a port for each service port that has none. Leases of an
 * earlier Service of the same name (another uid) are not reused: releaseStale
 * frees them.
 */
export async function assignPorts(
  kube: Kube,
  options: PortOptions,
  service: V1Service,
): Promise<PortAssignment> {
  const { systemNamespace, range = DEFAULT_PORT_RANGE } = options;
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  const uid = service.metadata?.uid ?? '';
  if (!namespace || !name || !uid) {
    throw new Error('assignPorts needs a Service read from the cluster (namespace, name and uid)');
  }
  const listed = await listPortLeases(
    kube,
    systemNamespace,
    `${MANAGED},${labels.serviceNamespace}=${namespace},${labels.service}=${name}`,
  );
  const current = listed.valid.filter((lease) => lease.serviceUid === uid);
  const { repaired, kept } = await repairDuplicates(kube, systemNamespace, current);

  const ports = new Map<string, number>();
  const created: number[] = [];
  for (const servicePort of service.spec?.ports ?? []) {
    const key = servicePortKey(servicePort);
    const existing = kept.find((lease) => lease.servicePort === key);
    if (existing !== undefined) {
      ports.set(key, existing.port);
      continue;
    }
    const taken = await takePort(
      kube,
      systemNamespace,
      range,
      { namespace, service: name, servicePort: key },
      uid,
    );
    ports.set(key, taken.port);
    if (taken.created) created.push(taken.port);
  }
  return { ports, created, repaired, invalid: listed.invalid };
}

/** For the activator: every assigned port and its target (one list call). */
export async function allAssignments(
  kube: Kube,
  systemNamespace: string,
): Promise<{ ports: Map<number, PortTarget>; invalid: InvalidLease[] }> {
  const { valid, invalid } = await listPortLeases(kube, systemNamespace, MANAGED);
  const ports = new Map<number, PortTarget>();
  for (const { port, namespace, service, servicePort } of valid)
    ports.set(port, { namespace, service, servicePort });
  return { ports, invalid };
}

export interface ReleasedPort extends PortTarget {
  readonly port: number;
  readonly reason: string;
}

/** Pure: why a Lease no longer holds its port, given its namespace's Services (by name), or undefined. */
export function staleReason(lease: PortLease, services: ReadonlyMap<string, V1Service>): string | undefined {
  const service = services.get(lease.service);
  if (service === undefined) return `Service ${lease.namespace}/${lease.service} is gone`;
  const uid = service.metadata?.uid;
  if (uid !== lease.serviceUid) {
    return `Service ${lease.namespace}/${lease.service} was recreated (uid ${uid}, the Lease has ${lease.serviceUid})`;
  }
  if (!(service.spec?.ports ?? []).some((port) => servicePortKey(port) === lease.servicePort)) {
    return `Service ${lease.namespace}/${lease.service} has no port ${lease.servicePort} any more`;
  }
  return undefined;
}

/**
 * For the activator's leader: frees the ports of Services that are gone,
 * were recreated (another uid) or lost the port, and repairs duplicates.
 * The Leases are listed before the Services, so a Lease taken for a Service
 * that exists is never freed. Invalid Leases are reported, left alone.
 */
export async function releaseStale(
  kube: Kube,
  systemNamespace: string,
): Promise<{ released: ReleasedPort[]; repaired: Repair[]; invalid: InvalidLease[] }> {
  const { valid, invalid } = await listPortLeases(kube, systemNamespace, MANAGED);
  const servicesByNamespace = new Map<string, Map<string, V1Service>>();
  for (const namespace of new Set(valid.map((lease) => lease.namespace))) {
    const { items } = await kube.core.listNamespacedService({ namespace });
    servicesByNamespace.set(namespace, new Map(items.map((s) => [s.metadata?.name ?? '', s])));
  }
  const released: ReleasedPort[] = [];
  const live: PortLease[] = [];
  for (const lease of valid) {
    const reason = staleReason(lease, servicesByNamespace.get(lease.namespace) ?? new Map());
    if (reason === undefined) live.push(lease);
    else if (await releaseLease(kube, systemNamespace, lease)) {
      const { port, namespace, service, servicePort } = lease;
      released.push({ port, namespace, service, servicePort, reason });
    }
  }
  const { repaired } = await repairDuplicates(kube, systemNamespace, live);
  return { released, repaired, invalid };
}
