/**
 * The mission on the sandbox cluster (scripts/testenv/sandbox): real pods at
 * their pod IPs, cluster DNS, kube-proxy, Traefik, Prometheus, KEDA's
 * operator and metrics adapter. An opted-in namespace is reached through an
 * Ingress and an HTTPRoute, sleeps through the queue while KEDA scales the
 * worker 0 -> 1 -> N -> 0, and a request through the gateway wakes it and is
 * answered by the app's own process after its 3 s cold start. The timeline
 * is kept in test-results/e2e-timeline.txt.
 */
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../../scripts/testenv/sandbox/sandbox.js';
import { Timeline } from '../../scripts/e2e/timeline.js';
import {
  APP_NAMESPACE,
  BULK_WORKLOADS,
  INGRESS_HOST,
  ROUTE_HOST,
  podOf,
  setUp,
  sleepThroughTheQueue,
  viaGateway,
  wakeThroughTheGateway,
  type Scenario,
} from '../../scripts/e2e/scenario.js';
import { annotations } from '../../lib/names.js';

const timelineFile = fileURLToPath(new URL('../../../test-results/e2e-timeline.txt', import.meta.url));

test('an opted-in namespace sleeps through the queue while KEDA scales the worker 0 -> 1 -> N -> 0, and a request through the gateway wakes it', async (t) => {
  t.timeout(10 * 60_000);
  const timeline = new Timeline(timelineFile, (line) => t.log(line));
  const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
  const started: { scenario?: Scenario } = {};
  let failed = true;
  t.teardown(async () => {
    await started.scenario?.stop();
    await sandbox.stop({ keepLogs: failed });
    if (failed) console.error(`sandbox logs kept in ${sandbox.dir}`);
  });
  timeline.mark('start');
  const scenario = await setUp(sandbox, timeline);
  started.scenario = scenario;
  const { kube } = scenario;

  // Awake: the Ingress and the HTTPRoute both reach the app's own processes through Traefik.
  const byIngress = await viaGateway(sandbox, INGRESS_HOST, { accept: 'application/json' });
  t.is(byIngress.status, 200);
  t.regex(podOf(byIngress), /^web-/);
  const byRoute = await viaGateway(sandbox, ROUTE_HOST, { accept: 'application/json' });
  t.is(byRoute.status, 200);
  t.regex(podOf(byRoute), /^api-/);
  t.is((JSON.parse(byRoute.body) as { namespace: string }).namespace, APP_NAMESPACE);
  // Inside the cluster: a Service name through cluster DNS and kube-proxy.
  const inCluster = await sandbox.get(`http://web.${APP_NAMESPACE}.svc.cluster.local/inside`);
  t.is(inCluster.status, 200);
  t.is((JSON.parse(inCluster.body) as { path: string }).path, '/inside');
  timeline.log(
    `awake: Ingress -> ${podOf(byIngress)}, HTTPRoute -> ${podOf(byRoute)}, ClusterIP by name -> 200`,
  );

  await sleepThroughTheQueue(scenario, timeline);
  t.is(scenario.workerReplicas[0], 0, 'the worker starts with no pods');
  t.true(
    Math.max(...scenario.workerReplicas) >= 2,
    `KEDA scaled the worker to N >= 2: ${scenario.workerReplicas.join(' -> ')}`,
  );
  t.true(Math.max(...scenario.workerReplicas) <= 5, 'within the ScaledObject maxReplicaCount');
  t.is(scenario.workerReplicas.at(-1), 0);
  const web = await kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE });
  t.is(web.metadata?.annotations?.[annotations.replicas], '2');

  const { page, api } = await wakeThroughTheGateway(scenario, timeline);
  t.is(page.status, 503);
  t.truthy(page.headers['retry-after']);
  t.regex(page.body, /<html/i);
  t.is(api.status, 200);
  t.regex(podOf(api), /^web-/, 'answered by the echo process of a new web pod');
  t.true(api.seconds >= 3, `the 3 s cold start is real: ${api.seconds.toFixed(1)}s`);
  t.is(api.headers['x-nozzle-cold-start'], 'true');
  const awake = await kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE });
  t.is(awake.spec?.replicas, 2);

  timeline.log(
    `figures: worker ${scenario.workerReplicas.join(' -> ')}; from zero ${timeline.between('published', 'worker-scaled-up').toFixed(1)}s after the publisher; ` +
      `${APP_NAMESPACE} asleep ${timeline.between('published', 'asleep').toFixed(1)}s after it, ${BULK_WORKLOADS} bulk workloads ${timeline.between('published', 'bulk-asleep').toFixed(1)}s; ` +
      `cold start through the gateway ${api.seconds.toFixed(1)}s`,
  );
  failed = false;
});
