/**
 * What the end-to-end tests read and do around endpoint takeover on the
 * sandbox cluster: put the app namespace to sleep now (`nozzle sleep`, as a
 * person would), wait until it really is (no pod left, every Service taken
 * over by the ready activator pods), and snapshot the user's own objects to
 * prove Nozzle never changed them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { labels, MANAGER } from '../../lib/names.js';
import { ACTIVATOR_HEADER } from '../../activator/responses.js';
import { APP_NAMESPACE, INGRESS_HOST, ROUTE_HOST, viaGateway, waitFor, type Scenario } from './scenario.js';

const run = promisify(execFile);
const cliMain = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const SYSTEM = 'nozzle-system';

/** The Services of the app namespace, each selecting one workload. */
export const APP_SERVICES = ['web', 'api', 'tcp'] as const;

/** `nozzle sleep <namespace>` from this machine with the sandbox's kubeconfig; its stdout. */
export async function nozzleCli(scenario: Scenario, args: readonly string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cliMain, ...args], {
    env: { ...process.env, KUBECONFIG: scenario.sandbox.kubeconfigPath },
  });
  return stdout;
}

/** The ready, running activator pods: their names and IPs. */
export async function activatorPods(kube: Kube): Promise<{ name: string; ip: string }[]> {
  const { items } = await kube.core.listNamespacedPod({
    namespace: SYSTEM,
    labelSelector: 'app.kubernetes.io/name=nozzle-activator',
  });
  return items
    .filter(isReady)
    .map((pod) => ({ name: pod.metadata?.name ?? '', ip: pod.status?.podIP ?? '' }));
}

function isReady(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Nozzle's takeover slices in `namespace`. */
export async function takeoverSlicesIn(kube: Kube, namespace = APP_NAMESPACE): Promise<V1EndpointSlice[]> {
  const { items } = await kube.discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `${labels.endpointSliceManagedBy}=${MANAGER}`,
  });
  return items;
}

/** The endpoint addresses of `service`'s takeover slice, sorted ('' when it has none). */
export function takeoverAddresses(slices: readonly V1EndpointSlice[], service: string): string {
  const slice = slices.find((s) => s.metadata?.labels?.[labels.serviceName] === service);
  return (slice?.endpoints ?? [])
    .flatMap((e) => e.addresses)
    .sort()
    .join(',');
}

/**
 * Asleep for real: every workload at 0, no pod left in the namespace, and
 * every Service taken over by exactly the ready activator pods.
 */
export async function waitAsleep(kube: Kube, what = `${APP_NAMESPACE} asleep`): Promise<void> {
  await waitFor(what, 120_000, async () => {
    const [web, api, tcp, pods, slices, activators] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE }),
      kube.apps.readNamespacedDeployment({ name: 'api', namespace: APP_NAMESPACE }),
      kube.apps.readNamespacedStatefulSet({ name: 'tcp', namespace: APP_NAMESPACE }),
      kube.core.listNamespacedPod({ namespace: APP_NAMESPACE }),
      takeoverSlicesIn(kube),
      activatorPods(kube),
    ]);
    const want = activators
      .map((a) => a.ip)
      .sort()
      .join(',');
    return (
      web.spec?.replicas === 0 &&
      api.spec?.replicas === 0 &&
      tcp.spec?.replicas === 0 &&
      pods.items.length === 0 &&
      activators.length > 0 &&
      APP_SERVICES.every((service) => takeoverAddresses(slices, service) === want)
    );
  });
}

/**
 * The gateway and kube-proxy route the sleeping app to the activator: a health
 * checker's request (which wakes nothing) by each host and by the ClusterIP is
 * answered by the activator itself. Traefik applies a Service's EndpointSlice
 * changes in batches (every 2 s at most), so for a moment after a sleep it may
 * still send requests to the pods that just went away.
 */
export async function waitRoutedToActivator(scenario: Scenario): Promise<void> {
  const probe = { 'user-agent': 'kube-probe/1.35', accept: 'application/json' };
  const web = await scenario.kube.core.readNamespacedService({ name: 'web', namespace: APP_NAMESPACE });
  await waitFor('the gateway and kube-proxy to route to the activator', 60_000, async () => {
    const answers = await Promise.all([
      viaGateway(scenario.sandbox, INGRESS_HOST, probe),
      viaGateway(scenario.sandbox, ROUTE_HOST, probe),
      scenario.sandbox.get(`http://${web.spec?.clusterIP}/`, probe),
    ]);
    return answers.every((a) => a.status === 200 && a.headers[ACTIVATOR_HEADER] === '1');
  });
}

/** Puts the app namespace to sleep now and waits until it is, and the gateway knows (see waitAsleep). */
export async function sleepNow(scenario: Scenario): Promise<void> {
  const out = await nozzleCli(scenario, ['sleep', APP_NAMESPACE]);
  if (/not put to sleep/.test(out))
    throw new Error(`nozzle sleep ${APP_NAMESPACE} left workloads awake:\n${out}`);
  await waitAsleep(scenario.kube);
  await waitRoutedToActivator(scenario);
}

/** What a user's object looks like to its owner: generation and spec (Services, Ingress, HTTPRoute). */
export async function userObjects(scenario: Scenario): Promise<Record<string, unknown>> {
  const { kube } = scenario;
  const out: Record<string, unknown> = {};
  for (const service of APP_SERVICES) {
    const s = await kube.core.readNamespacedService({ name: service, namespace: APP_NAMESPACE });
    out[`Service/${service}`] = {
      generation: s.metadata?.generation,
      spec: s.spec,
      labels: s.metadata?.labels,
    };
  }
  const ingress = await kube.networking.readNamespacedIngress({ name: 'web', namespace: APP_NAMESPACE });
  out['Ingress/web'] = {
    generation: ingress.metadata?.generation,
    spec: ingress.spec,
    annotations: ingress.metadata?.annotations,
  };
  const route = JSON.parse(
    await scenario.kubectl(['-n', APP_NAMESPACE, 'get', 'httproute', 'api', '-o', 'json']),
  ) as { metadata: { generation: number; annotations?: unknown }; spec: unknown };
  out['HTTPRoute/api'] = {
    generation: route.metadata.generation,
    spec: route.spec,
    annotations: route.metadata.annotations,
  };
  return out;
}

/** Controller-managed EndpointSlices of the namespace that Nozzle's field manager ever wrote: must be none. */
export async function controllerSlicesWrittenByNozzle(kube: Kube): Promise<string[]> {
  const { items } = await kube.discovery.listNamespacedEndpointSlice({ namespace: APP_NAMESPACE });
  return items
    .filter((s) => s.metadata?.labels?.[labels.endpointSliceManagedBy] !== MANAGER)
    .filter((s) => (s.metadata?.managedFields ?? []).some((f) => f.manager === 'nozzle'))
    .map((s) => s.metadata?.name ?? '');
}
