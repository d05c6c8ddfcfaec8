/** The endpoint index fed by a fake feed: what is ready, event-driven waits, takeover, changes. */
import test from 'ava';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EndpointIndex, type EndpointHandlers } from '../../activator/endpoint-index.js';

const web = { namespace: 'shop', service: 'web', servicePort: 'http' };

const service = (name: string, clusterIP = '10.96.0.10'): V1Service => ({
  metadata: { namespace: 'shop', name },
  spec: { clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

const slice = (
  name: string,
  svc: string,
  ip: string,
  options: { ready?: boolean; nozzle?: boolean } = {},
): V1EndpointSlice => ({
  metadata: {
    namespace: 'shop',
    name,
    labels: {
      'kubernetes.io/service-name': svc,
      'endpointslice.kubernetes.io/managed-by': options.nozzle
        ? 'nozzle.io'
        : 'endpointslice-controller.k8s.io',
    },
    managedFields: [{ manager: 'kube-controller-manager' }],
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: [ip], conditions: { ready: options.ready ?? true } }],
});

function fed(): { index: EndpointIndex; h: EndpointHandlers; sync: () => void } {
  let h!: EndpointHandlers;
  let synced = false;
  const feed = {
    start: () => undefined,
    stop: () => Promise.resolve(),
    get synced() {
      return synced;
    },
    whenSynced: () => Promise.resolve(),
  };
  const index = new EndpointIndex((handlers) => {
    h = handlers;
    return [feed];
  });
  return { index, h, sync: () => (synced = true) };
}

test("ready: the Service's own ready endpoints only, never a takeover slice or the ClusterIP", (t) => {
  const { index, h } = fed();
  h.services.replace([service('web')]);
  h.slices.replace([
    slice('web-nozzle-ipv4', 'web', '10.0.0.99', { nozzle: true }),
    slice('web-a', 'web', '10.96.0.10'),
    slice('web-b', 'web', '10.0.0.2', { ready: false }),
    slice('api-a', 'api', '10.0.0.3'),
  ]);
  t.deepEqual(index.ready(web), []);
  t.false(index.hasOwnReady('shop', 'web'));
  h.slices.upsert(slice('web-b', 'web', '10.0.0.2'));
  t.deepEqual(
    index.ready(web).map((e) => e.address),
    ['10.0.0.2:8080'],
  );
  t.true(index.hasOwnReady('shop', 'web'));
  t.deepEqual(index.ready({ ...web, servicePort: 'grpc' }), [], 'a port the Service does not have');
});

test('whenReady resolves on the event that makes the target ready, and rejects on abort', async (t) => {
  const { index, h } = fed();
  h.services.replace([service('web')]);
  const waiting = index.whenReady(web, new AbortController().signal);
  let resolved = false;
  void waiting.then(() => (resolved = true));
  h.slices.upsert(slice('api-a', 'api', '10.0.0.3'));
  await Promise.resolve();
  t.false(resolved, 'another Service becoming ready does not wake it');
  h.slices.upsert(slice('web-a', 'web', '10.0.0.2'));
  t.deepEqual(
    (await waiting).map((e) => e.ip),
    ['10.0.0.2'],
  );

  const abort = new AbortController();
  const never = index.whenReady({ ...web, service: 'db' }, abort.signal);
  abort.abort(new Error('client gone'));
  await t.throwsAsync(never, { message: 'client gone' });
});

test('takenOver lists Services with a Nozzle slice; a slice moved to another Service is refiled', (t) => {
  const { index, h } = fed();
  h.slices.replace([
    slice('web-nozzle-ipv4', 'web', '10.0.0.99', { nozzle: true }),
    slice('x', 'api', '10.0.0.3'),
  ]);
  t.deepEqual(index.takenOver(), [{ namespace: 'shop', service: 'web' }]);
  t.deepEqual(index.takenOver('other'), []);
  h.slices.upsert(slice('web-nozzle-ipv4', 'api', '10.0.0.99', { nozzle: true }));
  t.deepEqual(index.takenOver('shop'), [{ namespace: 'shop', service: 'api' }]);
  h.slices.remove(slice('web-nozzle-ipv4', 'api', '10.0.0.99', { nozzle: true }));
  t.deepEqual(index.takenOver(), []);
});

test('onChange tells the namespace of each change until unsubscribed; synced follows the feeds', (t) => {
  const { index, h, sync } = fed();
  const seen: string[] = [];
  const off = index.onChange((ns) => seen.push(ns));
  t.false(index.synced);
  h.services.upsert(service('web'));
  h.slices.upsert(slice('web-a', 'web', '10.0.0.2'));
  off();
  h.slices.remove(slice('web-a', 'web', '10.0.0.2'));
  t.deepEqual(seen, ['shop', 'shop']);
  sync();
  t.true(index.synced);
});
