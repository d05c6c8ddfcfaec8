/**
 * Every step of a sleep is idempotent: the same message twice, two workers
 * racing on one stream, a worker process killed between the takeover and the
 * scale, and a workload that is already at 0 all end in the same, correct
 * state. Without a ready activator pod nothing is put to sleep.
 */
import test from 'ava';
import { sleepMessage } from '../../lib/messages.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { allAssignments } from '../../lib/takeover/port-assignment.js';
import {
  createActivatorPod,
  createSystemNamespace,
  readyActivatorPods,
  setPodReady,
} from '../support/activator-pods.js';
import { createNamespace, createShop, deployment, snapshot } from '../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName, userObjectVersions } from '../support/takeover-shop.js';
import { privateQueue, publish, sample, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();

const sleepEvents = async (namespace: string): Promise<string[]> =>
  (await kube.events.listNamespacedEvent({ namespace })).items
    .map((e) => `${e.regarding?.name}: ${e.note}`)
    .sort();

test('the same message twice: one sleep, one backup, one Event, the same slices; a re-published decision is a duplicate', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace, system } = await createTakeoverShop(kube, 'twice');
  const versions = await userObjectVersions(kube, namespace);
  const message = sleepMessage(namespace, { kind: 'Deployment', name: 'web' });

  t.false((await publish(js, message)).duplicate);
  t.true((await publish(js, message)).duplicate, 'same decision, same Nats-Msg-Id: dropped by JetStream');
  // A true second delivery of the same content (a new id), as after a lost ack:
  t.false((await publish(js, message, 'forced-copy')).duplicate);

  const worker = await startWorker(nats.url, kube, { concurrency: 1, systemNamespace: system });
  t.teardown(() => worker.stop());
  await eventually('both deliveries handled', () => queueEmpty(nc));

  const state = await snapshot(kube, namespace);
  t.is(state.deployments.web?.spec?.replicas, 0);
  t.is(state.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '3');
  t.deepEqual(Object.keys(await takeoverSlicesByName(kube, namespace)).sort(), [
    'web-alias-nozzle-ipv4',
    'web-nozzle-ipv4',
  ]);
  t.is((await allAssignments(kube, system)).ports.size, 3, 'one port per Service port, none twice');
  t.deepEqual(await userObjectVersions(kube, namespace), versions, 'no Service or Ingress written');
  t.deepEqual(await sleepEvents(namespace), [
    'web: Slept: replicas 3 -> 0; Services taken over: web, web-alias; not taken over: web-ext (an ExternalName Service has no endpoints to take over)',
  ]);
  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 1);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'already_asleep' }), 1);
});

test('two workers on one stream, every message delivered twice: each workload sleeps once, one slice and distinct ports each', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createNamespace(kube, 'race');
  const system = await createSystemNamespace(kube);
  const pods = await readyActivatorPods(kube, system, 2);
  const count = 12;
  for (let i = 0; i < count; i++) {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment(`app-${i}`, (i % 4) + 1) });
    await kube.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: `app-${i}` },
        spec: {
          selector: { app: `app-${i}` },
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'grpc', port: 9090, targetPort: 9090 },
          ],
        },
      },
    });
  }

  const options = { systemNamespace: system };
  const workers = [await startWorker(nats.url, kube, options), await startWorker(nats.url, kube, options)];
  for (const w of workers) t.teardown(() => w.stop());
  for (let i = 0; i < count; i++) {
    const message = sleepMessage(namespace, { kind: 'Deployment', name: `app-${i}` });
    await publish(js, message, `a-${i}`);
    await publish(js, message, `b-${i}`);
  }
  await eventually('all deliveries handled', () => queueEmpty(nc), { timeout: 60_000 });

  const state = await snapshot(kube, namespace);
  for (let i = 0; i < count; i++) {
    const d = state.deployments[`app-${i}`];
    t.is(d?.spec?.replicas, 0);
    t.is(d?.metadata?.annotations?.['nozzle.io/replicas'], String((i % 4) + 1), `app-${i} backup`);
  }
  const slices = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(
    Object.keys(slices).sort(),
    Array.from({ length: count }, (_, i) => `app-${i}-nozzle-ipv4`).sort(),
    'one slice per Service',
  );
  const { ports } = await allAssignments(kube, system);
  t.is(ports.size, 2 * count, 'one Lease per Service port: no port taken twice for one, none shared');
  for (const slice of Object.values(slices)) {
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    t.deepEqual(
      slice.ports?.map((p) => [p.name, ports.get(p.port ?? 0)?.service, ports.get(p.port ?? 0)?.servicePort]),
      [
        ['http', service, 'http'],
        ['grpc', service, 'grpc'],
      ],
      `${service}: its slice's ports are its Leases'`,
    );
    t.deepEqual(
      slice.endpoints?.map((e) => e.addresses[0]),
      pods.map((p) => p.status?.podIP),
    );
  }
  const events = await sleepEvents(namespace);
  t.is(events.length, count, 'one Event per workload: exactly one delivery of each did the sleep');
  const handled = await Promise.all(
    workers.map(async (w) => {
      const m = await w.registry.metrics();
      return (
        (sample(m, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }) ?? 0) +
        (sample(m, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'already_asleep' }) ?? 0)
      );
    }),
  );
  t.is(handled[0]! + handled[1]!, 2 * count);
  t.true(
    handled.every((n) => n > 0),
    `both workers took messages: ${handled.join(', ')}`,
  );
  t.deepEqual(await deadLetters(nc), []);
});

test('a worker process killed between the takeover and the scale: the redelivery completes the sleep', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace, system } = await createTakeoverShop(kube, 'killed');
  const env = { NATS_URL: nats.url, NOZZLE_SYSTEM_NAMESPACE: system, ...topologyEnv() };

  const doomed = NozzleProcess.startPausedWorker(['--port', '0'], env);
  t.teardown(() => doomed.kill('SIGKILL'));
  await doomed.waitForLog((l) => l.msg === 'consumer bound');
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await doomed.waitForLog((l) => l.msg === 'test pause: after takeover');

  const half = await snapshot(kube, namespace);
  t.is(half.deployments.web?.spec?.replicas, 3, 'not scaled yet');
  t.is(half.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], undefined);
  const halfSlices = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(Object.keys(halfSlices).sort(), ['web-alias-nozzle-ipv4', 'web-nozzle-ipv4'], 'taken over');

  doomed.kill('SIGKILL');
  t.is((await doomed.exited).signal, 'SIGKILL');

  const successor = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => successor.kill('SIGKILL'));
  const done = await successor.waitForLog((l) => l.msg === 'sleep: slept', 30_000);
  t.is(done.deliveries, 2, 'the redelivery of the same message');
  t.deepEqual(done.services, ['web', 'web-alias']);
  await eventually('the message acknowledged', () => queueEmpty(nc));

  const after = await snapshot(kube, namespace);
  t.is(after.deployments.web?.spec?.replicas, 0);
  t.is(after.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '3');
  const slices = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(slices['web-nozzle-ipv4']?.ports, halfSlices['web-nozzle-ipv4']?.ports, 'the same ports');
  t.deepEqual(await sleepEvents(namespace), [
    'web: Slept: replicas 3 -> 0; Services taken over: web, web-alias; not taken over: web-ext (an ExternalName Service has no endpoints to take over)',
  ]);
  t.deepEqual(await deadLetters(nc), []);
  successor.kill('SIGTERM');
  t.is((await successor.exit()).code, 0);
});

test('no ready activator pod: retried, nothing scaled; once one is Ready the retry puts it to sleep', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace, system } = await createTakeoverShop(kube, 'noactivator', { activators: 0 });
  await createActivatorPod(kube, system, 'nozzle-activator-1');
  const worker = await startWorker(nats.url, kube, { systemNamespace: system });
  t.teardown(() => worker.stop());
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));

  const retried = await eventually('retried', () =>
    worker.lines.find((l) => l.msg === 'sleep failed; will retry'),
  );
  t.is(retried.error, `no ready activator pod in ${system}: not put to sleep`);
  const state = await snapshot(kube, namespace);
  t.is(state.deployments.web?.spec?.replicas, 3, 'not scaled');
  t.deepEqual(await takeoverSlicesByName(kube, namespace), {}, 'nothing taken over');

  // The watch sees the pod turn Ready: the next delivery goes through.
  await setPodReady(kube, system, 'nozzle-activator-1', '10.244.7.1');
  await eventually('slept', () => worker.lines.some((l) => l.msg === 'sleep: slept'), { timeout: 30_000 });
  await eventually('acknowledged', () => queueEmpty(nc));
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 0);
  t.deepEqual(
    (await takeoverSlicesByName(kube, namespace))['web-nozzle-ipv4']?.endpoints?.map((e) => e.addresses[0]),
    ['10.244.7.1'],
  );
  t.deepEqual(await deadLetters(nc), []);
});

test('a workload already at 0 keeps its backup; one at 0 without a backup is left alone', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'at-zero');
  await kube.apps.patchNamespacedDeployment({
    namespace,
    name: 'web',
    body: [
      { op: 'replace', path: '/spec/replicas', value: 0 },
      { op: 'add', path: '/metadata/annotations', value: { 'nozzle.io/replicas': '5' } },
    ],
  });
  await kube.apps.patchNamespacedDeployment({
    namespace,
    name: 'api',
    body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
  });
  const before = await snapshot(kube, namespace);

  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'api' }));
  await eventually('both handled', () => queueEmpty(nc));

  const after = await snapshot(kube, namespace);
  t.is(after.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '5', 'never overwritten with 0');
  t.is(after.deployments.web?.spec?.replicas, 0);
  t.deepEqual(after.deployments.api, before.deployments.api, 'untouched: not put to sleep by Nozzle');
  const skipped = worker.lines.find((l) => l.outcome === 'skipped' && l.workload === 'Deployment/api');
  t.regex(String(skipped?.reason), /already at 0 replicas with no backup/);
  t.deepEqual(await sleepEvents(namespace), []);
});

test('a sleep decided before the namespace last woke is skipped, and nothing is touched', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'stale');
  const decided = new Date(Date.now() - 60_000);
  await kube.core.patchNamespace({
    name: namespace,
    body: [
      { op: 'add', path: '/metadata/annotations', value: { 'nozzle.io/woke-at': new Date().toISOString() } },
    ],
  });
  const before = await snapshot(kube, namespace);
  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }, { at: decided }));
  await eventually('handled', () => queueEmpty(nc));
  const line = worker.lines.find((l) => l.outcome === 'skipped');
  t.regex(String(line?.reason), /^decided at .* before the namespace woke at /);
  t.deepEqual(await snapshot(kube, namespace), before, 'no takeover, no scale');
  t.deepEqual(await deadLetters(nc), []);
});
