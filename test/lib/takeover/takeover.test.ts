/**
 * lib/takeover/takeover.ts against the real apiserver: takeover slices are
 * created, left alone when right (generation kept), re-pointed when the
 * activator pods change, removed on wake, and a slice Nozzle does not manage
 * is never written. No controller-manager runs here, so the "controller's"
 * slices are created by the tests.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { assignPorts } from '../../../lib/takeover/port-assignment.js';
import type { ActivatorPod } from '../../../lib/takeover/takeover-slice.js';
import {
  SliceNotOursError,
  ensureTakeover,
  removeTakeover,
  repointAll,
  takeoverSlices,
} from '../../../lib/takeover/takeover.js';
import { adminKube } from '../../support/env.js';
import { createNamespace } from '../../support/shop.js';
import { controllerSliceBody } from '../../support/controller-slice.js';

const kube = adminKube();

const activator = (n: number): ActivatorPod => ({
  ip: `10.244.0.${n}`,
  podName: `nozzle-activator-${n}`,
  podUid: `00000000-0000-0000-0000-00000000000${n}`,
  namespace: 'nozzle-system',
  nodeName: 'node-1',
});

/** A namespace with a Service `name` (ClusterIP, two ports) and its activator ports assigned. */
async function takenOverService(prefix: string, name = 'web') {
  const { namespace } = await createNamespace(kube, prefix);
  const system = (await createNamespace(kube, `${prefix}-sys`)).namespace;
  const service = await kube.core.createNamespacedService({ namespace, body: serviceBody(name) });
  const { ports } = await assignPorts(kube, { systemNamespace: system }, service);
  return { namespace, service, ports };
}

const serviceBody = (name: string): V1Service => ({
  metadata: { name },
  spec: {
    selector: { app: name },
    ports: [
      { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' },
      { name: 'grpc', port: 9090, targetPort: 9090 },
    ],
  },
});

/** What the EndpointSlice controller would have made for the Service: not Nozzle's. */
const controllerSlice = (service: string, name: string): V1EndpointSlice =>
  controllerSliceBody(service, name);

const readSlice = (namespace: string, name: string) =>
  kube.discovery.readNamespacedEndpointSlice({ namespace, name });

test('ensureTakeover creates the slice, is idempotent (generation kept), and updates it when the pods change', async (t) => {
  const { namespace, service, ports } = await takenOverService('takeover-ensure');
  const input = { namespace, service, activatorPods: [activator(1), activator(2)], ports };

  t.deepEqual(await ensureTakeover(kube, input), {
    slices: [{ name: 'web-nozzle-ipv4', outcome: 'created' }],
    removed: [],
  });
  const created = await readSlice(namespace, 'web-nozzle-ipv4');
  t.deepEqual(created.metadata?.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'nozzle.io',
    'nozzle.io/managed': 'true',
  });
  t.is(created.metadata?.ownerReferences?.[0]?.uid, service.metadata?.uid);
  t.false(created.metadata?.ownerReferences?.[0]?.controller);
  t.deepEqual(
    created.ports?.map((p) => [p.name, p.protocol, p.appProtocol, p.port]),
    [
      ['http', 'TCP', 'http', ports.get('http')],
      ['grpc', 'TCP', undefined, ports.get('grpc')],
    ],
  );
  t.deepEqual(
    created.endpoints?.map((e) => [e.addresses[0], e.targetRef?.name, e.conditions?.ready]),
    [
      ['10.244.0.1', 'nozzle-activator-1', true],
      ['10.244.0.2', 'nozzle-activator-2', true],
    ],
  );

  t.deepEqual((await ensureTakeover(kube, input)).slices, [
    { name: 'web-nozzle-ipv4', outcome: 'unchanged' },
  ]);
  const again = await readSlice(namespace, 'web-nozzle-ipv4');
  t.is(again.metadata?.generation, created.metadata?.generation);
  t.is(again.metadata?.resourceVersion, created.metadata?.resourceVersion, 'not written at all');

  const moved = await ensureTakeover(kube, { ...input, activatorPods: [activator(3)] });
  t.deepEqual(moved.slices, [{ name: 'web-nozzle-ipv4', outcome: 'updated' }]);
  t.deepEqual(
    (await readSlice(namespace, 'web-nozzle-ipv4')).endpoints?.map((e) => e.addresses[0]),
    ['10.244.0.3'],
  );
});

test('a slice Nozzle does not manage is never modified: not by ensure, remove or repoint', async (t) => {
  const { namespace, service, ports } = await takenOverService('takeover-foreign');
  const squatter = await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSlice('web', 'web-nozzle-ipv4'),
  });
  const own = await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSlice('web', 'web-x7k2p'),
  });

  await t.throwsAsync(ensureTakeover(kube, { namespace, service, activatorPods: [activator(1)], ports }), {
    instanceOf: SliceNotOursError,
    message: /web-nozzle-ipv4 exists and is not managed by Nozzle/,
  });
  t.deepEqual(await removeTakeover(kube, namespace, 'web'), []);
  t.is(await repointAll(kube, [activator(2)], namespace), 0);
  t.deepEqual(await takeoverSlices(kube, namespace), []);
  for (const slice of [squatter, own]) {
    const now = await readSlice(namespace, slice.metadata!.name!);
    t.is(now.metadata?.resourceVersion, slice.metadata?.resourceVersion, `${slice.metadata?.name} untouched`);
  }
});

test('repointAll re-points every takeover slice at the new activator pods, once', async (t) => {
  const { namespace, service: web, ports: webPorts } = await takenOverService('takeover-repoint');
  const system = (await createNamespace(kube, 'takeover-repoint-sys')).namespace;
  const api = await kube.core.createNamespacedService({ namespace, body: serviceBody('api') });
  const apiPorts = (await assignPorts(kube, { systemNamespace: system }, api)).ports;
  const before = [activator(1), activator(2)];
  await ensureTakeover(kube, { namespace, service: web, activatorPods: before, ports: webPorts });
  await ensureTakeover(kube, { namespace, service: api, activatorPods: before, ports: apiPorts });
  const controller = await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSlice('web', 'web-abcde'),
  });

  t.is(await repointAll(kube, before, namespace), 0, 'already pointing at these pods');
  const after = [activator(2), activator(4)];
  t.is(await repointAll(kube, after, namespace), 2);
  for (const name of ['web-nozzle-ipv4', 'api-nozzle-ipv4']) {
    const slice = await readSlice(namespace, name);
    t.deepEqual(
      slice.endpoints?.map((e) => [e.addresses[0], e.targetRef?.uid]),
      [
        ['10.244.0.2', activator(2).podUid],
        ['10.244.0.4', activator(4).podUid],
      ],
      name,
    );
    t.is(slice.ports?.length, 2, 'ports kept');
  }
  t.is(await repointAll(kube, after, namespace), 0, 'converged');
  t.is(
    (await readSlice(namespace, 'web-abcde')).metadata?.resourceVersion,
    controller.metadata?.resourceVersion,
    "the controller's slice is not re-pointed",
  );
  const clusterWide = await takeoverSlices(kube);
  t.true(
    ['web-nozzle-ipv4', 'api-nozzle-ipv4'].every((name) =>
      clusterWide.some((s) => s.metadata?.namespace === namespace && s.metadata.name === name),
    ),
    'the cluster-wide list finds them',
  );
});

test('removeTakeover deletes the Service’s takeover slices only', async (t) => {
  const { namespace, service, ports } = await takenOverService('takeover-remove');
  const activatorPods = [activator(1)];
  await ensureTakeover(kube, { namespace, service, activatorPods, ports });
  const controller = await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSlice('web', 'web-qwert'),
  });
  t.deepEqual(await removeTakeover(kube, namespace, 'web'), ['web-nozzle-ipv4']);
  t.deepEqual(await takeoverSlices(kube, namespace), []);
  t.deepEqual(await removeTakeover(kube, namespace, 'web'), [], 'removing again: nothing to do');
  t.is((await readSlice(namespace, 'web-qwert')).metadata?.uid, controller.metadata?.uid);
});
