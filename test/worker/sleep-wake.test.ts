/**
 * The main scenario, with the real CLI: `nozzle publish --once` and
 * `nozzle worker` as child processes, the real apiserver and a real
 * nats-server. Sleep, then wake: the namespace comes back exactly as it was.
 */
import test from 'ava';
import { jetstream } from '@nats-io/jetstream';
import type { V1Ingress, V1ObjectMeta } from '@kubernetes/client-node';
import { connectNats } from '../../lib/jetstream/connect.js';
import { encodeMessage, subjectOf, wakeMessage, decisionId } from '../../lib/messages.js';
import { parseBackends } from '../../lib/backends.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.js';
import { createShop, snapshot } from '../support/shop.js';
import { sample } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();
let nats: PrivateNats;
test.before(async () => {
  nats = await startPrivateNats('nats-sleep-wake');
});
test.after.always(async () => {
  await nats?.stop();
});

const paths = (ingress: V1Ingress | undefined) =>
  (ingress?.spec?.rules ?? []).flatMap((rule) =>
    (rule.http?.paths ?? []).map((p) => ({ host: rule.host ?? '', path: p.path, backend: p.backend })),
  );
const activatorBackend = { service: { name: 'nozzle-activator', port: { number: 80 } } };

test('publish and work put a namespace to sleep; a wake restores it byte for byte', async (t) => {
  const shop = await createShop(kube);
  const { namespace } = shop;
  const before = await snapshot(kube, namespace);
  // Pages as large as allowed: however many objects other tests made, one page per list (4 calls in all).
  const env = {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: shop.selector,
    NOZZLE_LIST_PAGE_SIZE: '5000',
    NOZZLE_IDLE_AFTER: '1s',
    ...topologyEnv(),
  };
  // The shop's creation is activity: idle for longer than the 1s idle-after.
  await new Promise((resolve) => setTimeout(resolve, 1_200));

  const publisher = NozzleProcess.start(['publish', '--once'], env);
  const published = await publisher.exit();
  t.is(published.code, 0, publisher.describe());
  const summary = publisher.lines.find((l) => l.msg === 'publisher round done');
  t.like(summary, {
    namespaces: 1,
    workloads: 3,
    due: 3,
    published: 3,
    duplicates: 0,
    failed: 0,
    listCalls: 4,
  });

  const worker = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => worker.kill('SIGKILL'));
  const listening = await worker.waitForLog((l) => l.msg === 'worker listening');
  const metricsUrl = `http://127.0.0.1:${String(listening.port)}`;
  const nc = await connectNats(nats.url, { name: 'test' });
  t.teardown(() => nc.close());
  await eventually('the three sleeps to be done', () => queueEmpty(nc));

  const asleep = await snapshot(kube, namespace);
  for (const [kind, name, replicas] of [
    ['deployments', 'web', 3],
    ['deployments', 'api', 2],
    ['statefulSets', 'db', 1],
  ] as const) {
    const workload = asleep[kind][name];
    t.is(workload?.spec?.replicas, 0, `${name} scaled to 0`);
    t.is(workload?.metadata?.annotations?.['nozzle.io/replicas'], String(replicas), `${name} backup`);
  }

  const shared = asleep.ingresses.shop;
  t.is(shared?.metadata?.labels?.['nozzle.io/managed'], 'true');
  t.deepEqual(paths(shared), [
    { host: 'shop.example.com', path: '/', backend: activatorBackend },
    { host: 'shop.example.com', path: '/api', backend: activatorBackend },
    {
      host: 'shop.example.com',
      path: '/static',
      backend: { service: { name: 'static', port: { number: 80 } } },
    },
    { host: 'www.shop.example.com', path: '/', backend: activatorBackend },
    { host: '', path: '/healthz', backend: activatorBackend },
  ]);
  const recorded = parseBackends(shared?.metadata?.annotations?.['nozzle.io/backends']);
  // Compared as sorted lists: the annotation's order is serializeBackends' business, not this test's.
  t.deepEqual(
    recorded.map((r) => JSON.stringify(r)).sort(),
    [
      {
        host: '',
        path: '/healthz',
        pathType: 'ImplementationSpecific',
        backend: { service: { name: 'api', port: { number: 80 } } },
      },
      {
        host: 'shop.example.com',
        path: '/',
        pathType: 'Prefix',
        backend: { service: { name: 'web', port: { number: 80 } } },
      },
      {
        host: 'shop.example.com',
        path: '/api',
        pathType: 'Prefix',
        backend: { service: { name: 'api', port: { name: 'api-http' } } },
      },
      {
        host: 'www.shop.example.com',
        path: '/',
        pathType: 'Exact',
        backend: { service: { name: 'web-alias', port: { number: 80 } } },
      },
    ]
      .map((r) => JSON.stringify(r))
      .sort(),
    'every original backend of the shared Ingress, merged from two workloads',
  );
  t.is(shared?.metadata?.annotations?.['example.com/owner'], 'team-shop', 'other annotations untouched');
  t.deepEqual(shared?.spec?.tls, before.ingresses.shop?.spec?.tls);
  t.deepEqual(paths(asleep.ingresses['db-admin']), [
    { host: 'db.shop.example.com', path: '/', backend: activatorBackend },
  ]);

  const route = asleep.services['nozzle-activator'];
  t.like(route?.spec, {
    type: 'ExternalName',
    externalName: 'nozzle-activator.nozzle-system.svc.cluster.local',
  });
  t.is(route?.spec?.ports?.[0]?.port, 80);
  t.is(route?.metadata?.labels?.['nozzle.io/managed'], 'true');

  const events = (await kube.events.listNamespacedEvent({ namespace })).items;
  t.deepEqual(
    events.map((e) => `${e.regarding?.kind}/${e.regarding?.name}: ${e.note} (${e.reason})`).sort(),
    [
      'Deployment/api: Slept: replicas 2 -> 0 (Slept)',
      'Deployment/web: Slept: replicas 3 -> 0 (Slept)',
      'StatefulSet/db: Slept: replicas 1 -> 0 (Slept)',
    ],
  );

  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 3);
  t.is(
    sample(metrics, 'nozzle_worker_operation_duration_seconds_count', { op: 'sleep', outcome: 'slept' }),
    3,
  );
  t.is(sample(metrics, 'nozzle_worker_in_flight'), 0);
  t.is((await fetch(`${metricsUrl}/readyz`)).status, 200);
  t.is((await fetch(`${metricsUrl}/healthz`)).status, 200);

  // The next publisher round: the namespace is asleep; nothing to publish.
  const again = NozzleProcess.start(['publish', '--once'], env);
  t.is((await again.exit()).code, 0);
  t.like(
    again.lines.find((l) => l.msg === 'publisher round done'),
    { published: 0, skipped: { asleep: 3 } },
  );

  // Wake the namespace through the queue.
  const js = jetstream(nc);
  const wake = wakeMessage(namespace);
  await js.publish(subjectOf(wake), encodeMessage(wake), { msgID: decisionId(wake) });
  await eventually('the wake to be done', () => queueEmpty(nc));

  const awake = await snapshot(kube, namespace);
  const unchanged = <T extends { spec?: unknown; metadata?: V1ObjectMeta }>(
    kind: string,
    was: Record<string, T>,
    now: Record<string, T>,
  ): void => {
    for (const [name, object] of Object.entries(was)) {
      t.deepEqual(now[name]?.spec, object.spec, `${kind} ${name}: spec as before`);
      t.deepEqual(
        now[name]?.metadata?.annotations,
        object.metadata?.annotations,
        `${kind} ${name}: annotations`,
      );
      t.deepEqual(now[name]?.metadata?.labels, object.metadata?.labels, `${kind} ${name}: labels`);
    }
  };
  unchanged('Deployment', before.deployments, awake.deployments);
  unchanged('StatefulSet', before.statefulSets, awake.statefulSets);
  unchanged('Ingress', before.ingresses, awake.ingresses);
  const ns = await kube.core.readNamespace({ name: namespace });
  const wokeAt = Date.parse(ns.metadata?.annotations?.['nozzle.io/woke-at'] ?? '');
  t.true(Math.abs(Date.now() - wokeAt) < 60_000, 'woke-at stamped');

  // Just woken: the publisher leaves it alone for its idle-after.
  const afterWake = NozzleProcess.start(['publish', '--once'], { ...env, NOZZLE_IDLE_AFTER: '30m' });
  t.is((await afterWake.exit()).code, 0);
  t.like(
    afterWake.lines.find((l) => l.msg === 'publisher round done'),
    { published: 0, skipped: { awake: 3 } },
  );

  t.deepEqual(await deadLetters(nc), []);
  worker.kill('SIGTERM');
  const exit = await worker.exit();
  t.is(exit.code, 0, worker.describe());
  t.truthy(worker.lines.find((l) => l.msg === 'worker stopped'));
});
