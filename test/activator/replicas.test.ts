/**
 * Several activators, as real `nozzle activator` processes: two replicas on
 * one namespace share one wake and both serve; an activator killed mid-wake
 * is replaced by one that finishes the wake from the state in the objects.
 */
import test from 'ava';
import { Agent, request } from 'undici';
import { annotations, labels } from '../../lib/names.js';
import { adminKube } from '../support/env.js';
import {
  createSleepingNamespace,
  eventually,
  makeReady,
  startApiRecorder,
  startTestApp,
  type AppSpec,
} from '../support/activator.js';
import { kubeconfigFile, spawnActivator } from '../support/activator-process.js';

const kube = adminKube();

const overrides = (namespace: string, apps: readonly AppSpec[], address: string): string =>
  apps.map((a) => `${namespace}/${a.name}=${address}`).join(',');

test('two activator processes on one namespace: one wake, both serve', async (t) => {
  const apps: AppSpec[] = [
    { name: 'web', replicas: 2 },
    { name: 'api', replicas: 1 },
  ];
  const { namespace, host } = await createSleepingNamespace(kube, 'two', apps);
  const generations = await Promise.all(
    apps.map(
      async (a) =>
        (await kube.apps.readNamespacedDeployment({ namespace, name: a.name })).metadata?.generation ?? 0,
    ),
  );
  const backend = await startTestApp('two');
  const recorder = await startApiRecorder();
  const env = {
    KUBECONFIG: kubeconfigFile(recorder.kubeconfigJson),
    NOZZLE_DEV_UPSTREAM_OVERRIDES: overrides(namespace, apps, backend.address),
  };
  const [a, b] = await Promise.all([spawnActivator(env), spawnActivator(env)]);
  const agent = new Agent({ connections: 128 });
  t.teardown(async () => {
    await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    await agent.close();
    await backend.close();
    await recorder.close();
  });

  const send = (url: string, i: number) =>
    request(`${url}${i % 2 ? '/api/x' : '/'}`, {
      dispatcher: agent,
      headers: { host, 'x-test-id': `${url}-${i}` },
    }).then(async (res) => ({
      status: res.statusCode,
      cold: res.headers['x-nozzle-cold-start'],
      body: await res.body.text(),
    }));
  const viaA = Array.from({ length: 40 }, (_, i) => send(a.url, i));
  const viaB = Array.from({ length: 40 }, (_, i) => send(b.url, i));
  await eventually(async () => (await a.metric('nozzle_activator_held_requests')) === 40, 'A to hold 40');
  await eventually(async () => (await b.metric('nozzle_activator_held_requests')) === 40, 'B to hold 40');
  // Pods cannot turn Ready before their replicas are restored: stand in for
  // the controllers only once the wake has restored them.
  await eventually(async () => {
    const workloads = await kube.apps.listNamespacedDeployment({ namespace });
    return workloads.items.every((d) => d.metadata?.annotations?.[annotations.replicas] === undefined);
  }, 'the replicas to be restored');
  for (const app of apps) await makeReady(kube, namespace, app);

  for (const r of [...(await Promise.all(viaA)), ...(await Promise.all(viaB))]) {
    t.is(r.status, 200);
    t.is(r.cold, 'true');
  }
  t.is(backend.requests.length, 80);
  t.is(new Set(backend.requests.map((r) => r.headers['x-test-id'])).size, 80);

  // One wake: each workload restored by exactly one successful request; the other replica found it done.
  for (const [i, app] of apps.entries()) {
    const writes = recorder.requests.filter(
      (r) =>
        r.method === 'PATCH' &&
        r.path.startsWith(`/apis/apps/v1/namespaces/${namespace}/deployments/${app.name}`) &&
        r.status === 200,
    );
    t.is(writes.length, 1, `one restore of ${app.name}`);
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: app.name });
    t.is(d.metadata?.generation, generations[i]! + 1);
    t.is(d.spec?.replicas, app.replicas);
    t.is(d.metadata?.annotations?.[annotations.replicas], undefined);
  }
  const restored =
    (await a.metric('nozzle_activator_restored_workloads_total')) +
    (await b.metric('nozzle_activator_restored_workloads_total'));
  t.is(restored, apps.length);
  await eventually(async () => {
    const ing = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
    return ing.metadata?.labels?.[labels.managed] === undefined;
  }, 'the Ingress to be restored');
  const ingressWrites = recorder.requests.filter(
    (r) =>
      r.method === 'PATCH' &&
      r.path.startsWith(`/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/web`) &&
      r.status === 200,
  );
  t.is(ingressWrites.length, 1);
  await eventually(async () => {
    const events = await kube.events.listNamespacedEvent({ namespace });
    return events.items.some((e) => e.reason === 'Woke');
  }, 'the Woke event');
  const events = await kube.events.listNamespacedEvent({ namespace });
  t.is(events.items.filter((e) => e.reason === 'Woke').length, 1, 'one Event for one wake');

  // Both still serve, through the grace period.
  for (const p of [a, b]) {
    const late = await request(`${p.url}/`, { dispatcher: agent, headers: { host } });
    t.is(late.statusCode, 200);
    await late.body.text();
  }
  t.is(await a.stop(), 0, 'SIGTERM: graceful exit');
  t.is(await b.stop(), 0);
});

test('an activator killed mid-wake is replaced by one that finishes the wake from the objects', async (t) => {
  const apps: AppSpec[] = [
    { name: 'web', replicas: 2 },
    { name: 'db', replicas: 1 },
  ];
  const { namespace, host } = await createSleepingNamespace(kube, 'restart', apps);
  const backend = await startTestApp('restart');
  const env = { NOZZLE_DEV_UPSTREAM_OVERRIDES: overrides(namespace, apps, backend.address) };
  t.teardown(() => backend.close());
  const first = await spawnActivator(env);
  t.teardown(() => first.stop('SIGKILL'));

  const lost = request(`${first.url}/`, { headers: { host } }).then(
    (res) => res.statusCode,
    (err: Error) => err.name,
  );
  await eventually(async () => {
    const ns = await kube.core.readNamespace({ name: namespace });
    const workloads = await kube.apps.listNamespacedDeployment({ namespace });
    return (
      ns.metadata?.annotations?.[annotations.wokeAt] !== undefined &&
      workloads.items.every((d) => d.metadata?.annotations?.[annotations.replicas] === undefined)
    );
  }, 'the first activator to stamp woke-at and restore replicas');
  for (const app of apps) {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: app.name });
    t.is(d.spec?.replicas, app.replicas, `${app.name} restored by the first activator`);
  }
  t.is(await first.stop('SIGKILL'), 'SIGKILL');
  t.not(await lost, 200, 'the request held by the killed activator was cut off');
  const ingress = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
  t.is(ingress.metadata?.labels?.[labels.managed], 'true', 'the wake was left unfinished');

  const second = await spawnActivator(env);
  t.teardown(() => second.stop('SIGKILL'));
  const retried = request(`${second.url}/`, { method: 'POST', body: 'again', headers: { host } });
  await eventually(
    async () => (await second.metric('nozzle_activator_held_requests')) === 1,
    'the retry to be held',
  );
  for (const app of apps) await makeReady(kube, namespace, app);
  const res = await retried;
  t.is(res.statusCode, 200);
  t.is(res.headers['x-nozzle-cold-start'], 'true');
  await res.body.text();

  t.is(
    await second.metric('nozzle_activator_restored_workloads_total'),
    0,
    'nothing left to restore: it just waited',
  );
  await eventually(
    async () => (await second.metric('nozzle_activator_wakes_total', { result: 'ready' })) === 1,
    'the second activator to finish its wake',
  );
  await eventually(async () => {
    const ing = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
    return (
      ing.metadata?.labels?.[labels.managed] === undefined &&
      !ing.metadata?.annotations?.[annotations.backends]
    );
  }, 'the second activator to restore the Ingress');
  await eventually(async () => {
    const events = await kube.events.listNamespacedEvent({ namespace });
    return events.items.some((e) => e.reason === 'Woke' && /^Woke: 2 workloads ready in/.test(e.note ?? ''));
  }, 'the Woke event');
  t.is(await second.stop(), 0);
});
