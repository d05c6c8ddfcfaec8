/**
 * Every step of a sleep is idempotent: the same message twice, two workers
 * racing on one stream, a worker process killed between the Ingress rewrite
 * and the scale, and a workload that is already at 0 all end in the same,
 * correct state.
 */
import test from 'ava';
import { parseBackends } from '../../lib/backends.js';
import { sleepMessage } from '../../lib/messages.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { prefixPath } from '../support/ingress-path.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { createNamespace, createShop, deployment, service, snapshot } from '../support/shop.js';
import { privateQueue, publish, sample, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();

const sleepEvents = async (namespace: string): Promise<string[]> =>
  (await kube.events.listNamespacedEvent({ namespace })).items
    .map((e) => `${e.regarding?.name}: ${e.note}`)
    .sort();

test('the same message twice: one sleep, one backup, one Event; a re-published decision is a duplicate', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'twice');
  const message = sleepMessage(namespace, { kind: 'Deployment', name: 'web' });

  t.false((await publish(js, message)).duplicate);
  t.true((await publish(js, message)).duplicate, 'same decision, same Nats-Msg-Id: dropped by JetStream');
  // A true second delivery of the same content (a new id), as after a lost ack:
  t.false((await publish(js, message, 'forced-copy')).duplicate);

  const worker = await startWorker(nats.url, kube, { concurrency: 1 });
  t.teardown(() => worker.stop());
  await eventually('both deliveries handled', () => queueEmpty(nc));

  const state = await snapshot(kube, namespace);
  t.is(state.deployments.web?.spec?.replicas, 0);
  t.is(state.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '3');
  t.is(parseBackends(state.ingresses.shop?.metadata?.annotations?.['nozzle.io/backends']).length, 2);
  t.deepEqual(await sleepEvents(namespace), ['web: Slept: replicas 3 -> 0']);
  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 1);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'already_asleep' }), 1);
});

test('two workers on one stream, every message delivered twice: each workload sleeps once, backups exact', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createNamespace(kube, 'race');
  const count = 12;
  const paths = [];
  for (let i = 0; i < count; i++) {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment(`app-${i}`, (i % 4) + 1) });
    await kube.core.createNamespacedService({ namespace, body: service(`app-${i}`, { app: `app-${i}` }) });
    paths.push(prefixPath(`app-${i}`));
  }
  // One Ingress shared by all twelve: the backups of concurrent sleeps must all be merged, none clobbered.
  await kube.networking.createNamespacedIngress({
    namespace,
    body: { metadata: { name: 'all' }, spec: { rules: [{ host: 'race.example.com', http: { paths } }] } },
  });

  const workers = [await startWorker(nats.url, kube), await startWorker(nats.url, kube)];
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
  const recorded = parseBackends(state.ingresses.all?.metadata?.annotations?.['nozzle.io/backends']);
  t.deepEqual(
    recorded.map((r) => `${r.path} -> ${r.backend.service?.name}`).sort(),
    paths.map((p) => `${p.path} -> ${p.backend.service.name}`).sort(),
  );
  t.true(
    state.ingresses.all?.spec?.rules?.[0]?.http?.paths.every(
      (p) => p.backend.service?.name === 'nozzle-activator',
    ),
  );
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

test('a worker process killed between the Ingress rewrite and the scale: the redelivery completes the sleep', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'killed');
  const before = await snapshot(kube, namespace);
  const env = { NATS_URL: nats.url, ...topologyEnv() };

  const doomed = NozzleProcess.startPausedWorker(['--port', '0'], {
    ...env,
  });
  t.teardown(() => doomed.kill('SIGKILL'));
  await doomed.waitForLog((l) => l.msg === 'consumer bound');
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await doomed.waitForLog((l) => l.msg === 'test pause: after ingress rewrite');

  const half = await snapshot(kube, namespace);
  t.is(half.deployments.web?.spec?.replicas, 3, 'not scaled yet');
  t.is(half.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], undefined);
  const halfBackends = half.ingresses.shop?.metadata?.annotations?.['nozzle.io/backends'];
  t.truthy(halfBackends, 'Ingress rewritten');

  doomed.kill('SIGKILL');
  t.is((await doomed.exited).signal, 'SIGKILL');

  const successor = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => successor.kill('SIGKILL'));
  const done = await successor.waitForLog((l) => l.msg === 'sleep: slept', 30_000);
  t.is(done.deliveries, 2, 'the redelivery of the same message');
  t.deepEqual(done.ingresses, [], 'the Ingress was already rewritten: nothing to do there');
  await eventually('the message acknowledged', () => queueEmpty(nc));

  const after = await snapshot(kube, namespace);
  t.is(after.deployments.web?.spec?.replicas, 0);
  t.is(after.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '3');
  t.is(
    after.ingresses.shop?.metadata?.annotations?.['nozzle.io/backends'],
    halfBackends,
    'backups not clobbered',
  );
  const web = parseBackends(halfBackends).find((r) => r.host === 'shop.example.com' && r.path === '/');
  t.deepEqual(
    web?.backend,
    before.ingresses.shop?.spec?.rules?.[0]?.http?.paths[0]?.backend,
    'the original, not the activator',
  );
  t.deepEqual(await sleepEvents(namespace), ['web: Slept: replicas 3 -> 0']);
  t.deepEqual(await deadLetters(nc), []);
  successor.kill('SIGTERM');
  t.is((await successor.exit()).code, 0);
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
  t.deepEqual(await snapshot(kube, namespace), before, 'no route Service, no rewrite, no scale');
  t.deepEqual(await deadLetters(nc), []);
});
