/**
 * The mission, end to end: `kubectl apply` of k8s/ and keda/ on a control
 * plane of real components (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok, the KEDA operator, nats-server). The demo namespace
 * sleeps through the queue while KEDA scales the worker from zero and back,
 * then wakes on its first request. The timeline is kept in
 * test-results/e2e-timeline.txt.
 */
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { TestEnvironment } from '../../scripts/testenv/environment.js';
import { Timeline } from '../../scripts/e2e/timeline.js';
import {
  DEMO_NAMESPACE,
  setUp,
  sleepThroughTheQueue,
  wakeOnFirstRequest,
  type Scenario,
} from '../../scripts/e2e/scenario.js';
import { annotations, labels, ROUTE_SERVICE } from '../../lib/names.js';

const timelineFile = fileURLToPath(new URL('../../../test-results/e2e-timeline.txt', import.meta.url));

test('the demo namespace sleeps through the queue while KEDA scales the worker 0 -> 1 -> 0, then wakes on a request', async (t) => {
  t.timeout(10 * 60_000);
  const timeline = new Timeline(timelineFile, (line) => t.log(line));
  const env = await TestEnvironment.start({ e2e: true, progress: (line) => timeline.log(line) });
  const started: { scenario?: Scenario } = {};
  let failed = true;
  t.teardown(async () => {
    await started.scenario?.stop();
    await env.stop({ keepLogs: failed });
    if (failed) console.error(`e2e logs kept in ${env.dir}`);
  });
  timeline.mark('start');
  const scenario = await setUp(env, timeline);
  started.scenario = scenario;
  const { kube } = scenario;

  const worker = await kube.apps.readNamespacedDeployment({
    name: 'nozzle-worker',
    namespace: 'nozzle-system',
  });
  t.is(worker.spec?.replicas, 0, 'the worker starts with no pods');

  await sleepThroughTheQueue(env, scenario, timeline);
  const frontend = await kube.apps.readNamespacedDeployment({ name: 'frontend', namespace: DEMO_NAMESPACE });
  const backend = await kube.apps.readNamespacedStatefulSet({ name: 'backend', namespace: DEMO_NAMESPACE });
  t.is(frontend.spec?.replicas, 0);
  t.is(frontend.metadata?.annotations?.[annotations.replicas], '3');
  t.is(backend.spec?.replicas, 0);
  t.is(backend.metadata?.annotations?.[annotations.replicas], '2');
  const slept = await kube.networking.readNamespacedIngress({ name: 'demo', namespace: DEMO_NAMESPACE });
  t.is(slept.metadata?.labels?.[labels.managed], 'true');
  t.true(
    (slept.spec?.rules ?? [])
      .flatMap((r) => r.http?.paths ?? [])
      .every((p) => p.backend.service?.name === ROUTE_SERVICE),
  );

  const woke = await wakeOnFirstRequest(scenario, timeline);
  t.is(woke.waitingPage.status, 503);
  t.truthy(woke.waitingPage.retryAfter);
  t.is(woke.response.status, 200);
  t.is(woke.response.coldStart, 'true');
  t.regex(woke.response.body, /hello from the nozzle-demo app/);
  const restored = await kube.networking.readNamespacedIngress({ name: 'demo', namespace: DEMO_NAMESPACE });
  const targets = (restored.spec?.rules ?? [])
    .flatMap((r) => r.http?.paths ?? [])
    .map((p) => p.backend.service?.name);
  t.deepEqual(targets, ['backend', 'frontend']);
  const awake = await kube.apps.readNamespacedDeployment({ name: 'frontend', namespace: DEMO_NAMESPACE });
  t.is(awake.spec?.replicas, 3);
  t.is(awake.metadata?.annotations?.[annotations.replicas], undefined);

  timeline.log(
    `figures: worker scaled from zero ${timeline.between('published', 'worker-scaled-up').toFixed(1)}s after the publisher ran; ` +
      `demo asleep ${timeline.between('published', 'asleep').toFixed(1)}s after it; ` +
      `request -> 200 in ${timeline.between('request', 'answered').toFixed(1)}s`,
  );
  failed = false;
});
