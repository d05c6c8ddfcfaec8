/**
 * Activator pods for sleep tests. No kubelet runs in the base test
 * environment: a "ready activator pod" is a Pod object whose status the test
 * writes itself (Ready, with an IP), in a system namespace of the test's own
 * (port Leases and activator pods are per system namespace, so tests never
 * see each other's).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { statusOf } from '../../lib/errors.js';
import type { Kube } from '../../lib/kube/client.js';
import type { ActivatorPod } from '../../lib/takeover/takeover-slice.js';
import { uniqueName } from './env.js';

/** For a sleep that needs the activator's pods but not real ones: one made-up ready pod. */
export const staticActivatorPods =
  (namespace = 'nozzle-system') =>
  (): Promise<readonly ActivatorPod[]> =>
    Promise.resolve([{ ip: '10.244.9.9', podName: 'nozzle-activator-test', podUid: 'test-uid', namespace }]);

/** A namespace of the test's own for port Leases and activator pods (as the tests' other namespaces, left behind). */
export async function createSystemNamespace(kube: Kube, prefix = 'nozzle-sys'): Promise<string> {
  const name = uniqueName(prefix);
  await kube.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** An activator Pod (label app.kubernetes.io/name=nozzle-activator), not yet ready. */
export async function createActivatorPod(kube: Kube, namespace: string, name: string): Promise<V1Pod> {
  // The ServiceAccount admission plugin wants the pod's ServiceAccount; no controller creates `default` here.
  await kube.core
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } })
    .catch((err: unknown) => {
      if (statusOf(err) !== 409) throw err;
    });
  return kube.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { 'app.kubernetes.io/name': 'nozzle-activator' } },
      spec: {
        nodeName: 'node-1',
        automountServiceAccountToken: false,
        containers: [{ name: 'activator', image: 'example/nozzle:1' }],
      },
    },
  });
}

/** Writes the pod's status as a kubelet would: Running, Ready (or not), with `ip`. */
export async function setPodReady(
  kube: Kube,
  namespace: string,
  name: string,
  ip: string,
  ready = true,
): Promise<V1Pod> {
  const pod = await kube.core.readNamespacedPod({ namespace, name });
  return kube.core.replaceNamespacedPodStatus({
    namespace,
    name,
    body: {
      ...pod,
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
    },
  });
}

/** `count` ready activator pods (10.244.<n>.1 ...) in `namespace`. */
export async function readyActivatorPods(kube: Kube, namespace: string, count = 2): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  for (let i = 1; i <= count; i++) {
    await createActivatorPod(kube, namespace, `nozzle-activator-${i}`);
    pods.push(await setPodReady(kube, namespace, `nozzle-activator-${i}`, `10.244.${i}.1`));
  }
  return pods;
}
