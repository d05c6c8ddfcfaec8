/**
 * The wake, end to end against the real apiserver and over real HTTP: a
 * namespace put to sleep by the sleep-path code, 200 concurrent API requests
 * and one browser, the test standing in for kubelet and the controllers.
 */
import test from 'ava';
import { Agent, request } from 'undici';
import { optIn } from '../../lib/kube/opt-in.js';
import { sleepWorkload } from '../../lib/sleep/sleep.js';
import { connectKube } from '../../lib/kube/client.js';
import { annotations, labels } from '../../lib/names.js';
import { adminKube, uniqueName } from '../support/env.js';
import {
  createAwakeNamespace,
  makeReady,
  metric,
  nowMs,
  startActivator,
  startApiRecorder,
  startTestApp,
  upstreams,
  eventually,
  type AppSpec,
} from '../support/activator.js';
import { staticActivatorPods } from '../support/activator-pods.js';

const kube = adminKube();
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('200 API requests and a browser share one wake; every request is answered once, after Ready', async (t) => {
  const namespace = uniqueName('wake');
  const host = `${namespace}.apps.test`;
  const apps: AppSpec[] = [
    { name: 'web', replicas: 2 },
    { name: 'api', replicas: 3 },
    { name: 'worker', replicas: 1 },
  ];
  await createAwakeNamespace(kube, namespace, host, apps);
  const at = new Date().toISOString();
  for (const app of apps) {
    const outcome = await sleepWorkload(
      kube,
      { v: 1, op: 'sleep', namespace, workload: { kind: 'Deployment', name: app.name }, reason: 'test', at },
      {
        activatorPods: staticActivatorPods(),
        optIn: optIn('nozzle=true', 'nozzle-system'),
      },
    );
    t.is(outcome.outcome, 'slept', `${app.name} went to sleep`);
  }
  const generations = new Map<string, number>();
  for (const app of apps) {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: app.name });
    generations.set(app.name, d.metadata?.generation ?? 0);
  }

  const backend = await startTestApp('shop');
  const recorder = await startApiRecorder();
  const activator = await startActivator(
    { devUpstreams: upstreams(namespace, apps, backend) },
    connectKube(recorder.config),
  );
  const client = new Agent({ connections: 256 });
  t.teardown(async () => {
    await activator.stop(1_000);
    await client.close();
    await backend.close();
    await recorder.close();
  });
  await eventually(() => activator.index.isSleeping(namespace), 'the index to list the namespace');

  // 200 API requests over 3 paths (web at /, api at /api, worker at /worker).
  const paths = ['/', '/api/items', '/worker/jobs'];
  const responses = Array.from({ length: 200 }, (_, i) =>
    request(`${activator.url}${paths[i % 3]}?n=${i}`, {
      dispatcher: client,
      method: i % 2 === 0 ? 'GET' : 'POST',
      headers: { host, 'x-test-id': String(i), accept: 'application/json', 'content-type': 'text/plain' },
      body: i % 2 === 0 ? undefined : `payload ${i}`,
    }).then(async (res) => ({
      i,
      status: res.statusCode,
      headers: res.headers,
      body: await res.body.text(),
      at: nowMs(),
    })),
  );

  const browserStart = nowMs();
  const page = await request(`${activator.url}/`, {
    dispatcher: client,
    headers: { host, accept: BROWSER_ACCEPT },
  });
  const pageBody = await page.body.text();
  const browserMs = nowMs() - browserStart;
  t.log(`browser got the waiting page in ${browserMs.toFixed(1)} ms`);
  t.is(page.statusCode, 503);
  t.is(page.headers['cache-control'], 'no-store');
  t.truthy(page.headers['retry-after']);
  t.regex(String(page.headers['content-type']), /text\/html/);
  t.regex(pageBody, new RegExp(host.replaceAll('.', '\\.')));

  // The status the page polls.
  const status = await request(`${activator.url}/_nozzle/status`, { dispatcher: client, headers: { host } });
  const statusJson = (await status.body.json()) as { phase: string; namespace: string; workloads: unknown[] };
  t.is(status.statusCode, 200);
  t.is(statusJson.namespace, namespace);
  t.is(statusJson.phase, 'waking');

  // Replicas restored (one request each), woke-at stamped, Ingress not yet restored.
  await eventually(async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'api' });
    return d.spec?.replicas === 3;
  }, 'replicas to be restored');
  await eventually(async () => {
    const ns = await kube.core.readNamespace({ name: namespace });
    return ns.metadata?.annotations?.[annotations.wokeAt] !== undefined;
  }, 'woke-at');
  await new Promise((r) => setTimeout(r, 300));
  t.is(backend.requests.length, 0, 'nothing is forwarded before the backends are Ready');
  const heldIngress = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
  t.is(heldIngress.metadata?.labels?.[labels.managed], 'true', 'the Ingress still points at the activator');
  t.is(await metric(activator, 'nozzle_activator_held_requests'), 200);

  // Stand in for kubelet: web and worker Ready first; api last.
  await makeReady(kube, namespace, apps[0]!);
  await makeReady(kube, namespace, apps[2]!);
  await eventually(() => backend.requests.length >= 133, 'web and worker requests to be forwarded');
  const stillIngress = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
  t.is(stillIngress.metadata?.labels?.[labels.managed], 'true', 'the Ingress waits for every backend');
  const apiReadyAt = await makeReady(kube, namespace, apps[1]!);

  const results = await Promise.all(responses);
  const firstApi = Math.min(
    ...backend.requests.filter((r) => r.path.startsWith('/api')).map((r) => r.arrivedAt),
  );
  t.log(
    `api EndpointSlice write sent -> first held api request at the backend: ${(firstApi - apiReadyAt.sentAt).toFixed(1)} ms` +
      ` (${(firstApi - apiReadyAt.ackedAt).toFixed(1)} ms after the write was acknowledged)`,
  );
  t.true(firstApi > apiReadyAt.sentAt, 'no api request was forwarded before its backend was Ready');

  for (const r of results) {
    t.is(r.status, 200, `request ${r.i}`);
    t.is(r.headers['x-nozzle-cold-start'], 'true');
    t.is(r.headers['x-app-hop'], undefined, 'headers named in Connection are stripped');
    t.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    const body = JSON.parse(r.body) as { app: string; id: string; bodyBytes: number; path: string };
    t.is(body.app, 'shop');
    t.is(body.id, String(r.i));
    t.is(body.path, `${paths[r.i % 3]}?n=${r.i}`);
  }
  // None lost, none duplicated.
  const ids = backend.requests.map((r) => String(r.headers['x-test-id']));
  t.is(ids.length, 200);
  t.is(new Set(ids).size, 200);
  t.is(backend.requests[0]?.headers['x-forwarded-host'], host);
  t.is(backend.requests[0]?.headers['x-forwarded-proto'], 'http');
  t.is(backend.requests[0]?.headers['x-forwarded-for'], '127.0.0.1');

  // The Ingress is restored (after Ready), annotations and label gone.
  await eventually(async () => {
    const ing = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
    return ing.metadata?.labels?.[labels.managed] === undefined;
  }, 'the Ingress to be restored');
  const ingress = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
  t.is(ingress.metadata?.annotations?.[annotations.backends], undefined);
  t.deepEqual(
    ingress.spec?.rules?.[0]?.http?.paths.map((p) => p.backend.service?.name),
    ['web', 'api', 'worker'],
  );
  const ingressPatch = recorder.requests.findIndex(
    (r) => r.method === 'PATCH' && r.path.includes(`/namespaces/${namespace}/ingresses/web`),
  );
  t.true(ingressPatch >= 0, 'the activator restored the Ingress');

  // Exactly one restore request per workload reached the apiserver.
  for (const app of apps) {
    const patches = recorder.requests.filter(
      (r) =>
        r.method === 'PATCH' &&
        r.path.startsWith(`/apis/apps/v1/namespaces/${namespace}/deployments/${app.name}`),
    );
    t.is(patches.length, 1, `one restore request for ${app.name}`);
    t.is(patches[0]?.status, 200);
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: app.name });
    t.is(d.spec?.replicas, app.replicas);
    t.is(d.metadata?.annotations?.[annotations.replicas], undefined);
    t.is(d.metadata?.generation, (generations.get(app.name) ?? 0) + 1, 'one spec change');
  }
  t.is(
    recorder.requests.filter(
      (r) => r.method === 'PATCH' && r.path.split('?')[0] === `/api/v1/namespaces/${namespace}`,
    ).length,
    1,
    'woke-at stamped once',
  );

  // Readiness came from a watch: one list to start it, then watch requests, no polling.
  const slices = recorder.requests.filter((r) =>
    r.path.startsWith(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`),
  );
  t.is(slices.filter((r) => !r.path.includes('watch=true')).length, 1, 'listed once');
  t.true(
    slices.some((r) => r.path.includes('watch=true')),
    'then watched',
  );

  const ns = await kube.core.readNamespace({ name: namespace });
  const wokeAt = Date.parse(ns.metadata?.annotations?.[annotations.wokeAt] ?? '');
  t.true(Date.now() - wokeAt < 60_000, 'woke-at is recent');

  const events = await kube.events.listNamespacedEvent({ namespace });
  const woke = events.items.filter((e) => e.reason === 'Woke');
  t.is(woke.length, 1);
  t.regex(woke[0]?.note ?? '', /^Woke: 3 workloads ready in \d+\.\ds$/);
  t.is(woke[0]?.regarding?.kind, 'Namespace');

  t.is(await metric(activator, 'nozzle_activator_wakes_total', { result: 'ready' }), 1);
  t.is(await metric(activator, 'nozzle_activator_restored_workloads_total'), 3);
  t.is(await metric(activator, 'nozzle_activator_held_requests'), 0);
  t.is(
    await metric(activator, 'nozzle_activator_forwarded_requests_total', {
      class: '2xx',
      cold_start: 'true',
    }),
    200,
  );

  // The page's status: ready, with each workload's progress.
  const done = await request(`${activator.url}/_nozzle/status`, { dispatcher: client, headers: { host } });
  const doneJson = (await done.body.json()) as {
    phase: string;
    timeoutMs: number;
    elapsedMs: number;
    workloads: { kind: string; name: string; ready: number; desired: number }[];
  };
  t.is(doneJson.phase, 'ready');
  t.is(doneJson.timeoutMs, 120_000);
  t.true(doneJson.elapsedMs > 0);
  t.deepEqual(doneJson.workloads, [
    { kind: 'Deployment', name: 'api', ready: 3, desired: 3 },
    { kind: 'Deployment', name: 'web', ready: 2, desired: 2 },
    { kind: 'Deployment', name: 'worker', ready: 1, desired: 1 },
  ]);

  // After the wake: a request that still reaches the activator (stale ingress config) is forwarded.
  const late = await request(`${activator.url}/api/late`, { dispatcher: client, headers: { host } });
  t.is(late.statusCode, 200);
  t.is(late.headers['x-nozzle-cold-start'], undefined);
  t.is(((await late.body.json()) as { path: string }).path, '/api/late');
});
