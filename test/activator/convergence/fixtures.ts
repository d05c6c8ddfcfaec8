/**
 * For the wake and convergence tests, against the real apiserver where no
 * controller runs: a namespace asleep with takeover (workloads at 0 with their
 * backup, takeover slices via lib/takeover), the controller's slices and
 * pods written by hand, and a small endpoint index over one namespace that
 * answers what the wake and the leader ask (the data path's index is tested
 * with the data path).
 */
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ListWatch } from '../../../lib/kube/list-watch.js';
import type { Kube } from '../../../lib/kube/client.js';
import { statusOf } from '../../../lib/errors.js';
import { annotations, labels } from '../../../lib/names.js';
import { assignPorts } from '../../../lib/takeover/port-assignment.js';
import { ensureTakeover, takeoverSlices } from '../../../lib/takeover/takeover.js';
import { mergePatch } from '../../../lib/kube/patch.js';
import type { ActivatorPod } from '../../../lib/takeover/takeover-slice.js';
import { setPodReady } from '../../support/activator-pods.js';
import { createNamespace, deployment } from '../../support/shop.js';
import { controllerSliceBody } from '../../support/controller-slice.js';

export const quiet = pino({ level: process.env.NOZZLE_TEST_LOG ?? 'silent' });

export const activatorPod = (n: number, system = 'nozzle-system'): ActivatorPod => ({
  ip: `10.244.9.${n}`,
  podName: `nozzle-activator-${n}`,
  podUid: `00000000-0000-0000-0000-0000000000${String(n).padStart(2, '0')}`,
  namespace: system,
});

/** A namespace with Deployments asleep under takeover: each at 0 with `nozzle.io/replicas`, its Service, its slice. */
export async function asleepWithTakeover(
  kube: Kube,
  prefix: string,
  apps: Record<string, number>,
  options: { system?: string; ensuredAt?: Date } = {},
) {
  const { namespace } = await createNamespace(kube, prefix);
  const system = options.system ?? (await createNamespace(kube, `${prefix}-sys`)).namespace;
  for (const [name, replicas] of Object.entries(apps)) {
    const body = deployment(name, 0);
    body.metadata!.annotations = { [annotations.replicas]: String(replicas) };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const service = await kube.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    const { ports } = await assignPorts(kube, { systemNamespace: system }, service);
    await ensureTakeover(kube, { namespace, service, activatorPods: [activatorPod(1, system)], ports });
  }
  if (options.ensuredAt) await stampEnsuredAt(kube, namespace, options.ensuredAt);
  return { namespace, system };
}

/** Stamps every takeover slice of the namespace as ensured at `at` (now: a test's settle time counts from here). */
export async function stampEnsuredAt(kube: Kube, namespace: string, at = new Date()): Promise<void> {
  for (const slice of await takeoverSlices(kube, namespace)) {
    await kube.discovery.patchNamespacedEndpointSlice(
      {
        namespace,
        name: slice.metadata!.name!,
        body: { metadata: { annotations: { [annotations.ensuredAt]: at.toISOString() } } },
      },
      mergePatch,
    );
  }
}

/** What the EndpointSlice controller writes once the pods are Ready (or not). */
export async function controllerSlice(
  kube: Kube,
  namespace: string,
  service: string,
  ready = true,
): Promise<void> {
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSliceBody(service, `${service}-ctrl1`, { endpoints: [{ ip: '10.244.1.10', ready }] }),
  });
}

/** An activator pod in `system`, Ready with `ip` (what kubelet would report). */
export async function runActivatorPod(kube: Kube, system: string, name: string, ip: string): Promise<V1Pod> {
  // No controller-manager creates the namespace's default ServiceAccount, which a pod needs.
  await kube.core
    .createNamespacedServiceAccount({ namespace: system, body: { metadata: { name: 'default' } } })
    .catch((err: unknown) => {
      if (statusOf(err) !== 409) throw err;
    });
  await kube.core.createNamespacedPod({
    namespace: system,
    body: {
      metadata: { name, labels: { 'app.kubernetes.io/name': 'nozzle-activator' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'activator', image: 'nozzle:test' }] },
    },
  });
  return setPodReady(kube, system, name, ip);
}

/** The endpoint index's answers for one namespace, from a watch of its EndpointSlices. */
export class NamespaceIndex {
  private readonly slices = new Map<string, V1EndpointSlice>();
  private readonly listeners = new Set<(namespace: string) => void>();
  private readonly watch: ListWatch<V1EndpointSlice>;

  constructor(
    kube: Kube,
    readonly namespace: string,
  ) {
    const changed = (): void => {
      for (const listener of this.listeners) listener(namespace);
    };
    this.watch = new ListWatch<V1EndpointSlice>({
      config: kube.config,
      log: quiet,
      path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      list: () => kube.discovery.listNamespacedEndpointSlice({ namespace }),
      handlers: {
        replace: (items) => {
          this.slices.clear();
          for (const s of items) this.slices.set(s.metadata?.name ?? '', s);
          changed();
        },
        upsert: (s) => {
          this.slices.set(s.metadata?.name ?? '', s);
          changed();
        },
        remove: (s) => {
          this.slices.delete(s.metadata?.name ?? '');
          changed();
        },
      },
    }).start();
  }

  whenSynced(): Promise<void> {
    return this.watch.whenSynced();
  }

  hasOwnReady(namespace: string, service: string): boolean {
    return [...this.slices.values()].some(
      (s) =>
        namespace === this.namespace &&
        s.metadata?.labels?.[labels.serviceName] === service &&
        s.metadata.labels[labels.endpointSliceManagedBy] !== 'nozzle.io' &&
        (s.endpoints ?? []).some((e) => e.conditions?.ready !== false),
    );
  }

  takenOver(namespace?: string): { namespace: string; service: string }[] {
    if (namespace !== undefined && namespace !== this.namespace) return [];
    const services = [...this.slices.values()]
      .filter((s) => s.metadata?.labels?.[labels.endpointSliceManagedBy] === 'nozzle.io')
      .map((s) => s.metadata?.labels?.[labels.serviceName] ?? '');
    return [...new Set(services)].map((service) => ({ namespace: this.namespace, service }));
  }

  onChange(listener: (namespace: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}
