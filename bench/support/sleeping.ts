/**
 * A sleeping Service as the worker leaves it, written to the real apiserver
 * of scripts/testenv: an opted-in namespace (label nozzle=true), optionally a
 * Deployment at 0 with its backup annotation (so the activator's wake has a
 * workload to restore), the Service, its port Lease in the bench's system
 * namespace (lib/takeover port-assignment's Lease), its takeover slice
 * (lib/takeover ensureTakeover) and, like the EndpointSlice controller, a
 * slice of its own with no ready endpoint.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { annotations, labels } from '../../lib/names.js';
import { portLease } from '../../lib/takeover/port-assignment.js';
import type { ActivatorPod } from '../../lib/takeover/takeover-slice.js';
import { ensureTakeover } from '../../lib/takeover/takeover.js';
import { podIp } from '../../test/support/activator.js';
import { uniqueName } from '../../test/support/env.js';
import { freePorts } from '../../test/support/tcp.js';
import { controllerSliceBody } from '../../test/support/controller-slice.js';

const ignoreConflict = (err: unknown): void => {
  if ((err as { code?: number }).code !== 409) throw err;
};

export const activatorPod = (systemNamespace: string, ip = podIp(), n = 0): ActivatorPod => ({
  ip,
  podName: `nozzle-activator-${n}`,
  podUid: `bench-uid-${n}`,
  namespace: systemNamespace,
});

export async function createNamespace(kube: Kube, name: string, optIn = true): Promise<void> {
  await kube.core
    .createNamespace({ body: { metadata: { name, labels: optIn ? { [labels.optIn]: 'true' } : {} } } })
    .catch(ignoreConflict);
}

export interface SleepingService {
  readonly namespace: string;
  readonly name: string;
  readonly service: V1Service;
  /** The activator port of its Lease. */
  readonly port: number;
}

/** Everything but the namespaces (createNamespace first). `targetPort` is the backend's port. */
export async function sleepingService(
  kube: Kube,
  options: {
    readonly systemNamespace: string;
    readonly namespace: string;
    readonly name: string;
    readonly port: number;
    readonly targetPort: number;
    readonly deployment?: boolean;
    /** Write the controller's own slice (no ready endpoint); default true. */
    readonly controllerSlice?: boolean;
  },
): Promise<SleepingService> {
  const { systemNamespace, namespace, name, port, targetPort } = options;
  if (options.deployment) {
    const match = { app: name };
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, namespace, annotations: { [annotations.replicas]: '1' } },
        spec: {
          replicas: 0,
          selector: { matchLabels: match },
          template: {
            metadata: { labels: match },
            spec: { containers: [{ name: 'app', image: 'nozzle.test/echo' }] },
          },
        },
      },
    });
  }
  const service = await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, namespace },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort }] },
    },
  });
  await kube.coordination.createNamespacedLease({
    namespace: systemNamespace,
    body: portLease({ namespace, service: name, servicePort: 'http' }, service.metadata!.uid!, port),
  });
  await ensureTakeover(kube, {
    namespace,
    service,
    activatorPods: [activatorPod(systemNamespace)],
    ports: new Map([['http', port]]),
  });
  if (options.controllerSlice ?? true) await endpointSlice(kube, namespace, name, targetPort, false);
  return { namespace, name, service, port };
}

/** Service `web` asleep in a fresh opted-in namespace (`prefix-xxxxxx`), its Lease on a free port in a fresh system namespace. */
export async function oneSleepingService(
  kube: Kube,
  prefix: string,
  targetPort: number,
  deployment: boolean,
): Promise<SleepingService & { readonly systemNamespace: string }> {
  const systemNamespace = uniqueName('bench-sys');
  const namespace = uniqueName(prefix);
  const [port] = await freePorts(1);
  await createNamespace(kube, systemNamespace, false);
  await createNamespace(kube, namespace);
  const sleeping = await sleepingService(kube, {
    systemNamespace,
    namespace,
    name: 'web',
    port: port!,
    targetPort,
    deployment,
  });
  return { ...sleeping, systemNamespace };
}

/** What the EndpointSlice controller writes for a pod of the Service on this machine: one endpoint, `ready` as given. */
export async function endpointSlice(
  kube: Kube,
  namespace: string,
  service: string,
  port: number,
  ready: boolean,
): Promise<void> {
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSliceBody(service, `${service}-${ready ? 'ready' : 'empty'}`, {
      namespace,
      port,
      endpoints: ready ? [{ ip: podIp(), ready: true }] : [],
    }),
  });
}

/** Best effort: the bench's namespaces (the testenv has no namespace controller, so they stay Terminating until it stops). */
export async function deleteNamespaces(kube: Kube, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => kube.core.deleteNamespace({ name }).catch(() => undefined)));
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
