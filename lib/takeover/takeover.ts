/**
 * Writing takeover EndpointSlices (takeover-slice.ts builds them): ensure a
 * Service's, remove them on wake, list them, and re-point them all at the
 * ready activator pods (the activator leader's convergence step).
 *
 * Every write is conditional on the resourceVersion read (409: read again,
 * lib/kube/conflict.ts) and idempotent: an unchanged slice is not written, so
 * its generation stays. A slice without `endpointslice.kubernetes.io/managed-by=nozzle.io`
 * is never written or deleted, even when it has the name Nozzle would use.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { retryOnConflict, retryOnConflictFrom } from '../kube/conflict.js';
import { PermanentError, isConflict, isNotFound, undefinedIfNotFound } from '../errors.js';
import { FIELD_MANAGER } from '../names.js';
import { inParallel } from '../in-parallel.js';

/** Slices re-pointed at once by repointAll. */
const REPOINT_PARALLEL = 16;
import {
  activatorEndpoints,
  endpointsMatch,
  isTakeoverSlice,
  sliceMatches,
  takeoverSelector,
  takeoverSlices as buildSlices,
  type ActivatorPod,
  type AddressFamily,
} from './takeover-slice.js';

/** A slice with the takeover slice's name that Nozzle does not manage: the Service cannot be taken over. */
export class SliceNotOursError extends PermanentError {
  override readonly name = 'SliceNotOursError';
}

export interface TakeoverInput {
  readonly namespace: string;
  /** The Service as read from the cluster (its uid, ports and ipFamilies count). */
  readonly service: V1Service;
  readonly activatorPods: readonly ActivatorPod[];
  /** Service port (name, or number when unnamed) -> activator port (port-assignment.ts assignPorts). */
  readonly ports: ReadonlyMap<string, number>;
  /** Written as nozzle.io/ensured-at on every slice (takeover-slice.ts). */
  readonly ensuredAt?: Date;
}

export interface TakeoverResult {
  readonly slices: readonly {
    readonly name: string;
    readonly outcome: 'created' | 'updated' | 'unchanged';
  }[];
  /** Nozzle's slices of the Service that are no longer wanted (an address family it dropped). */
  readonly removed: readonly string[];
}

/** Creates or updates the Service's takeover slices, one per address family. */
export async function ensureTakeover(kube: Kube, input: TakeoverInput): Promise<TakeoverResult> {
  const { namespace, service } = input;
  const name = service.metadata?.name ?? '';
  const wanted = buildSlices(input);
  // From the apiserver's watch cache (resourceVersion 0: a consistent list waits for the cache to catch
  // up with etcd, tens of ms after a write). Every write below is conditional, so an outdated list
  // costs a 409 or 404 and a read, never a wrong write.
  const ours = await takeoverSlices(kube, namespace, name, '0');
  const slices: TakeoverResult['slices'][number][] = [];
  for (const slice of wanted) {
    const sliceName = slice.metadata!.name!;
    // Not in the list: created at once (no read first); a 409 reads it and decides again.
    let current: V1EndpointSlice | undefined = ours.find((s) => s.metadata?.name === sliceName);
    let first = true;
    const outcome = await retryOnConflict(`takeover EndpointSlice ${namespace}/${sliceName}`, async () => {
      if (!first) {
        current = await kube.discovery
          .readNamespacedEndpointSlice({ namespace, name: sliceName })
          .catch(undefinedIfNotFound);
      }
      first = false;
      try {
        return await writeSlice(kube, namespace, slice, current);
      } catch (err) {
        if (current === undefined || !isNotFound(err)) throw err;
        return writeSlice(kube, namespace, slice, undefined); // listed, but gone meanwhile
      }
    });
    slices.push({ name: sliceName, outcome });
  }
  const removed: string[] = [];
  for (const slice of ours) {
    if (wanted.some((w) => w.metadata?.name === slice.metadata?.name)) continue;
    if (await deleteSlice(kube, namespace, slice)) removed.push(slice.metadata?.name ?? '');
  }
  return { slices, removed };
}

async function writeSlice(
  kube: Kube,
  namespace: string,
  wanted: V1EndpointSlice,
  current: V1EndpointSlice | undefined,
): Promise<'created' | 'updated' | 'unchanged'> {
  if (current === undefined) {
    // A 409 (AlreadyExists) is retried from a read: someone else created it, or it is not ours.
    await kube.discovery.createNamespacedEndpointSlice({
      namespace,
      body: wanted,
      fieldManager: FIELD_MANAGER,
    });
    return 'created';
  }
  if (!isTakeoverSlice(current)) {
    throw new SliceNotOursError(
      `EndpointSlice ${namespace}/${wanted.metadata?.name} exists and is not managed by Nozzle: the Service cannot be taken over`,
    );
  }
  if (sliceMatches(current, wanted)) return 'unchanged';
  const body: V1EndpointSlice = {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      labels: { ...current.metadata?.labels, ...wanted.metadata?.labels },
      annotations: { ...current.metadata?.annotations, ...wanted.metadata?.annotations },
      resourceVersion: current.metadata?.resourceVersion,
    },
  };
  await kube.discovery.replaceNamespacedEndpointSlice({
    namespace,
    name: wanted.metadata!.name!,
    body,
    fieldManager: FIELD_MANAGER,
  });
  return 'updated';
}

/** Deletes Nozzle's slice as it was read (uid precondition); false when it was already gone or replaced. */
async function deleteSlice(kube: Kube, namespace: string, slice: V1EndpointSlice): Promise<boolean> {
  if (!isTakeoverSlice(slice)) return false;
  try {
    await kube.discovery.deleteNamespacedEndpointSlice({
      namespace,
      name: slice.metadata?.name ?? '',
      body: { preconditions: { uid: slice.metadata?.uid } },
    });
    return true;
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return false;
    throw err;
  }
}

/** Deletes the Service's takeover slices (the wake's last step); returns their names. */
export async function removeTakeover(kube: Kube, namespace: string, service: string): Promise<string[]> {
  const removed: string[] = [];
  for (const slice of await takeoverSlices(kube, namespace, service)) {
    if (await deleteSlice(kube, namespace, slice)) removed.push(slice.metadata?.name ?? '');
  }
  return removed;
}

/** The takeover slices of a namespace (of one Service, when named), or of the whole cluster: one list call. */
export async function takeoverSlices(
  kube: Kube,
  namespace?: string,
  service?: string,
  /** `0`: from the watch cache, possibly outdated (only for callers whose writes are conditional). */
  resourceVersion?: '0',
): Promise<V1EndpointSlice[]> {
  const labelSelector = takeoverSelector(service);
  const { items } =
    namespace === undefined
      ? await kube.discovery.listEndpointSliceForAllNamespaces({ labelSelector, resourceVersion })
      : await kube.discovery.listNamespacedEndpointSlice({ namespace, labelSelector, resourceVersion });
  return items.filter(isTakeoverSlice);
}

/**
 * The convergence step (one activator replica at a time): every takeover
 * slice's endpoints become the ready activator pods of its address family.
 * Returns how many slices changed. A slice that fails does not stop the
 * others; the failures are thrown together afterwards (AggregateError).
 * `namespace` limits it to one namespace (the whole cluster by default).
 */
export async function repointAll(
  kube: Kube,
  activatorPods: readonly ActivatorPod[],
  namespace?: string,
): Promise<number> {
  let changed = 0;
  const failures: unknown[] = [];
  // A few writes at a time: one after another, 1,000 slices took 12.5 s
  // (docs/benchmarks.md), each sleeping Service pointing at a gone pod meanwhile.
  await inParallel(await takeoverSlices(kube, namespace), REPOINT_PARALLEL, async (listed) => {
    const where = { namespace: listed.metadata?.namespace ?? '', name: listed.metadata?.name ?? '' };
    try {
      const wrote = await retryOnConflictFrom(
        `takeover EndpointSlice ${where.namespace}/${where.name}`,
        listed,
        () => kube.discovery.readNamespacedEndpointSlice(where),
        async (current) => {
          if (current === undefined || !isTakeoverSlice(current) || endpointsMatch(current, activatorPods)) {
            return false; // gone (woken), no longer ours, or already right
          }
          const endpoints = activatorEndpoints(activatorPods, current.addressType as AddressFamily);
          await kube.discovery.replaceNamespacedEndpointSlice({
            ...where,
            body: { ...current, endpoints },
            fieldManager: FIELD_MANAGER,
          });
          return true;
        },
      );
      if (wrote) changed++;
    } catch (err) {
      failures.push(err);
    }
  });
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      `re-pointing takeover slices: ${failures.length} failed, ${changed} changed`,
    );
  }
  return changed;
}
