/**
 * The wake against the real apiserver: a namespace asleep with takeover is
 * restored, and each Service's takeover slice is removed only once the
 * Service has ready endpoints of its own (the test writes the controller's
 * slices: no controller runs here). Two activator replicas running the same
 * wake share the work: one restores, both finish, one Event.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { createActivatorMetrics } from '../../activator/metrics.js';
import { Wake, kubeWakeDeps } from '../../activator/wake.js';
import { annotations } from '../../lib/names.js';
import { takeoverSlices } from '../../lib/takeover/takeover.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NamespaceIndex, asleepWithTakeover, controllerSlice, quiet } from './convergence/fixtures.js';

const kube = adminKube();

function startWake(namespace: string, index: NamespaceIndex, readinessTimeoutMs = 60_000): Wake {
  const metrics = createActivatorMetrics(new Registry());
  return new Wake(namespace, kubeWakeDeps({ kube, index, log: quiet, metrics, readinessTimeoutMs }));
}

const services = async (namespace: string) =>
  (await takeoverSlices(kube, namespace))
    .map((s) => s.metadata?.labels?.['kubernetes.io/service-name'])
    .sort();

test('restores, then removes each takeover only once its Service is ready on its own; one Woke Event', async (t) => {
  const { namespace } = await asleepWithTakeover(kube, 'wake-one', { web: 2, api: 3 });
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  const wake = startWake(namespace, index);
  t.teardown(() => wake.close());

  await eventually('replicas restored', async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'api' });
    return d.spec?.replicas === 3 && d.metadata?.annotations?.[annotations.replicas] === undefined;
  });
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt], 'woke-at stamped');
  await sleep(300);
  t.deepEqual(await services(namespace), ['api', 'web'], 'no takeover removed before any Service is ready');
  t.is(wake.state, 'waking');
  t.deepEqual(wake.notReady().services, ['api', 'web']);

  await controllerSlice(kube, namespace, 'web');
  await eventually('web released', async () => (await services(namespace)).join() === 'api');
  t.is(wake.state, 'waking', 'api is not ready yet');
  await controllerSlice(kube, namespace, 'api', false);
  await sleep(300);
  t.deepEqual(await services(namespace), ['api'], 'an endpoint that is not ready does not count');

  await kube.discovery.deleteNamespacedEndpointSlice({ namespace, name: 'api-ctrl1' });
  await controllerSlice(kube, namespace, 'api');
  await wake.done;
  t.is(wake.state, 'ready');
  t.deepEqual(await services(namespace), []);
  t.is(wake.restored, 2);
  await eventually('the Woke Event', async () => {
    const events = await kube.events.listNamespacedEvent({ namespace });
    return events.items.filter((e) => e.reason === 'Woke').length === 1;
  });
});

test('two replicas run the same wake: both finish, the workloads restored once, one Event', async (t) => {
  const { namespace } = await asleepWithTakeover(kube, 'wake-two', { web: 2 });
  const indexes = [new NamespaceIndex(kube, namespace), new NamespaceIndex(kube, namespace)];
  t.teardown(() => Promise.all(indexes.map((i) => i.stop())));
  const wakes = indexes.map((index) => startWake(namespace, index));
  t.teardown(() => Promise.all(wakes.map((w) => w.close())));
  await eventually('restored', async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    return d.spec?.replicas === 2;
  });
  await controllerSlice(kube, namespace, 'web');
  await Promise.all(wakes.map((w) => w.done));
  t.deepEqual(
    wakes.map((w) => w.state),
    ['ready', 'ready'],
  );
  t.is(wakes[0]!.restored + wakes[1]!.restored, 1, 'one replica restored it, the other saw it done');
  t.deepEqual(await services(namespace), []);
  const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(d.spec?.replicas, 2);
  t.is(d.metadata?.annotations?.[annotations.replicas], undefined);
  await sleep(500);
  const events = await kube.events.listNamespacedEvent({ namespace });
  t.is(
    events.items.filter((e) => e.reason === 'Woke').length,
    1,
    'only the replica that restored records it',
  );
});

test('past the readiness timeout the wake fails and says what was not ready; the takeover stays', async (t) => {
  const { namespace } = await asleepWithTakeover(kube, 'wake-timeout', { web: 1 });
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  const wake = startWake(namespace, index, 1_500);
  await wake.done;
  t.is(wake.state, 'failed');
  t.is(wake.failure?.reason, 'timeout');
  t.deepEqual(wake.failure?.notReady.services, ['web']);
  t.regex(wake.failure?.message ?? '', /Service web has no ready endpoint/);
  t.deepEqual(await services(namespace), ['web'], 'a Service never ready keeps its wake path');
});
