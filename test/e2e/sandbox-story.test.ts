/**
 * The mission on the sandbox cluster (scripts/testenv/sandbox): real pods at
 * their pod IPs, cluster DNS, kube-proxy, Traefik, Prometheus, KEDA's
 * operator and metrics adapter. An opted-in namespace sleeps through the
 * queue while KEDA scales the worker 0 -> 1 -> N -> 0; then every way traffic
 * arrives wakes it through endpoint takeover, and each is answered by the
 * app's own process after its 3 s cold start: an Ingress host and an
 * HTTPRoute host through Traefik, a ClusterIP from inside the cluster, a
 * WebSocket, raw TCP, a browser. Then the hard cases: both activators
 * restarted while asleep, `kubectl scale` by hand, two activators sharing one
 * wake, sleeps racing wakes. The user's Services, Ingress and HTTPRoute never
 * change. One sandbox for the whole file; the timeline is kept in
 * test-results/e2e-timeline.txt.
 */
import anyTest, { type TestFn } from 'ava';
import { fileURLToPath } from 'node:url';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { Sandbox } from '../../scripts/testenv/sandbox/sandbox.js';
import { dial } from '../../scripts/testenv/sandbox/dialer.js';
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
  waitFor,
  type Scenario,
} from '../../scripts/e2e/scenario.js';
import {
  APP_SERVICES,
  activatorPods,
  controllerSlicesWrittenByNozzle,
  nozzleCli,
  sleepNow,
  takeoverAddresses,
  takeoverSlicesIn,
  userObjects,
  waitAsleep,
  waitRoutedToActivator,
} from '../../scripts/e2e/takeover.js';
import { annotations } from '../../lib/names.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/browser.js';
import { webSocketEcho } from '../support/websocket-client.js';

interface Context {
  sandbox: Sandbox;
  scenario: Scenario;
  timeline: Timeline;
  /** The user's objects as they were before anything slept. */
  before: Record<string, unknown>;
}
const test = anyTest as TestFn<Context>;
const timelineFile = fileURLToPath(new URL('../../../test-results/e2e-timeline.txt', import.meta.url));
let failed = false;

test.before(async (t) => {
  t.timeout(10 * 60_000);
  const timeline = new Timeline(timelineFile, (line) => t.log(line));
  const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
  t.context.sandbox = sandbox;
  t.context.timeline = timeline;
  timeline.mark('start');
  t.context.scenario = await setUp(sandbox, timeline, { scheduledRounds: false });
  t.context.before = await userObjects(t.context.scenario);
});

test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});

test.after.always(async (t) => {
  await t.context.scenario?.stop();
  await t.context.sandbox?.stop({ keepLogs: failed });
  if (failed && t.context.sandbox) console.error(`sandbox logs kept in ${t.context.sandbox.dir}`);
});

/** The Service's ClusterIP and port, as a pod would dial them. */
async function clusterAddress(scenario: Scenario, service: string): Promise<{ ip: string; port: number }> {
  const s = await scenario.kube.core.readNamespacedService({ name: service, namespace: APP_NAMESPACE });
  return { ip: s.spec?.clusterIP ?? '', port: s.spec?.ports?.[0]?.port ?? 0 };
}

async function replicasOf(scenario: Scenario, name: 'web' | 'api'): Promise<number | undefined> {
  const d = await scenario.kube.apps.readNamespacedDeployment({ name, namespace: APP_NAMESPACE });
  return d.spec?.replicas;
}

test.serial(
  'awake, the app is reached every way; it sleeps through the queue while KEDA scales the worker 0 -> 1 -> N -> 0, taken over by the activators',
  async (t) => {
    t.timeout(8 * 60_000);
    const { scenario, sandbox, timeline } = t.context;
    const byIngress = await viaGateway(sandbox, INGRESS_HOST, { accept: 'application/json' });
    t.is(byIngress.status, 200);
    t.regex(podOf(byIngress), /^web-/);
    const byRoute = await viaGateway(sandbox, ROUTE_HOST, { accept: 'application/json' });
    t.is(byRoute.status, 200);
    t.regex(podOf(byRoute), /^api-/);
    const inCluster = await sandbox.get(`http://web.${APP_NAMESPACE}.svc.cluster.local/inside`);
    t.is(inCluster.status, 200);
    t.is((JSON.parse(inCluster.body) as { path: string }).path, '/inside');
    timeline.log(`awake: Ingress -> ${podOf(byIngress)}, HTTPRoute -> ${podOf(byRoute)}, ClusterIP -> 200`);

    await sleepThroughTheQueue(scenario, timeline);
    t.is(scenario.workerReplicas[0], 0, 'the worker starts with no pods');
    t.true(
      Math.max(...scenario.workerReplicas) >= 2,
      `KEDA scaled to N >= 2: ${scenario.workerReplicas.join(' -> ')}`,
    );
    t.true(Math.max(...scenario.workerReplicas) <= 5, 'within the ScaledObject maxReplicaCount');
    t.is(scenario.workerReplicas.at(-1), 0);
    const web = await scenario.kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE });
    t.is(web.metadata?.annotations?.[annotations.replicas], '2');

    await waitAsleep(scenario.kube, 'every Service taken over by the ready activator pods');
    await waitRoutedToActivator(scenario);
    const slices = await takeoverSlicesIn(scenario.kube);
    const activators = await activatorPods(scenario.kube);
    t.is(activators.length, 2);
    for (const service of APP_SERVICES) {
      t.is(
        takeoverAddresses(slices, service),
        activators
          .map((a) => a.ip)
          .sort()
          .join(','),
      );
    }
    timeline.log(
      `figures: worker ${scenario.workerReplicas.join(' -> ')}; asleep ${timeline.between('published', 'asleep').toFixed(1)}s after the publisher, ` +
        `${BULK_WORKLOADS} bulk workloads ${timeline.between('published', 'bulk-asleep').toFixed(1)}s`,
    );
  },
);

test.serial(
  'a request by the Ingress host through Traefik wakes it: a browser gets the waiting page, an API client the app after its cold start',
  async (t) => {
    const { scenario, sandbox, timeline } = t.context;
    const page = await viaGateway(sandbox, INGRESS_HOST, { accept: 'text/html' });
    t.is(page.status, 503);
    t.truthy(page.headers['retry-after']);
    t.regex(page.body, /<html/i);
    const api = await viaGateway(sandbox, INGRESS_HOST, { accept: 'application/json' });
    t.is(api.status, 200);
    t.regex(podOf(api), /^web-/, 'answered by the echo process of a new web pod');
    t.true(api.seconds >= 3, `the 3 s cold start is real: ${api.seconds.toFixed(1)}s`);
    t.is(await replicasOf(scenario, 'web'), 2);
    timeline.log(
      `Ingress host: waiting page ${page.status}, then ${api.status} from ${podOf(api)} in ${api.seconds.toFixed(1)}s`,
    );
    await waitFor(
      'the takeover slices removed once the workloads are Ready',
      60_000,
      async () => (await takeoverSlicesIn(scenario.kube)).length === 0,
    );
  },
);

test.serial('a request by the HTTPRoute host through the Gateway wakes it', async (t) => {
  const { scenario, sandbox, timeline } = t.context;
  await sleepNow(scenario);
  const api = await viaGateway(sandbox, ROUTE_HOST, { accept: 'application/json' });
  t.is(api.status, 200);
  t.regex(podOf(api), /^api-/);
  t.true(api.seconds >= 3, `cold start: ${api.seconds.toFixed(1)}s`);
  t.is(await replicasOf(scenario, 'api'), 1);
  timeline.log(`HTTPRoute host: ${api.status} from ${podOf(api)} in ${api.seconds.toFixed(1)}s`);
});

test.serial('a request to the ClusterIP from inside the cluster wakes it', async (t) => {
  const { scenario, sandbox, timeline } = t.context;
  await sleepNow(scenario);
  const { ip, port } = await clusterAddress(scenario, 'web');
  const answer = await sandbox.get(`http://${ip}:${port}/from-a-pod`, { accept: 'application/json' });
  t.is(answer.status, 200);
  t.regex(podOf(answer), /^web-/);
  t.is((JSON.parse(answer.body) as { path: string }).path, '/from-a-pod');
  t.true(answer.seconds >= 3, `cold start: ${answer.seconds.toFixed(1)}s`);
  timeline.log(
    `ClusterIP ${ip}:${port}: ${answer.status} from ${podOf(answer)} in ${answer.seconds.toFixed(1)}s`,
  );
});

test.serial('a WebSocket through Traefik wakes it and echoes', async (t) => {
  const { scenario, sandbox, timeline } = t.context;
  await sleepNow(scenario);
  const gateway = new URL(sandbox.urls.gateway);
  const socket = connect(Number(gateway.port), gateway.hostname);
  const echo = await webSocketEcho(socket, INGRESS_HOST, '/ws', 'hello through the activator');
  t.is(echo.status, 101, echo.head);
  t.true(echo.acceptOk);
  t.is(echo.echoed, 'hello through the activator');
  t.true(echo.seconds >= 3, `cold start: ${echo.seconds.toFixed(1)}s`);
  timeline.log(`WebSocket: 101, echoed in ${echo.seconds.toFixed(1)}s`);
});

test.serial('raw TCP to the tcp-echo Service wakes it; the server speaks first', async (t) => {
  const { scenario, sandbox, timeline } = t.context;
  await sleepNow(scenario);
  const { ip, port } = await clusterAddress(scenario, 'tcp');
  const started = performance.now();
  const socket = dial(sandbox.dialerPath, ip, port);
  // The client says nothing: the greeting comes from the tcp-echo process once it runs.
  const greeting = await firstBytes(socket, 60_000);
  t.regex(greeting, /^hello from tcp-echo/);
  socket.write('ping\n');
  const echoed = await firstBytes(socket, 10_000);
  socket.destroy();
  const seconds = (performance.now() - started) / 1000;
  t.is(echoed, 'ping\n');
  t.true(seconds >= 3, `cold start: ${seconds.toFixed(1)}s`);
  timeline.log(`raw TCP ${ip}:${port}: greeting and echo after ${seconds.toFixed(1)}s`);
});

function firstBytes(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing in ${timeoutMs} ms`)), timeoutMs);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

test.serial('a browser through Traefik sees the waiting page, then the app', async (t) => {
  const { scenario, sandbox, timeline } = t.context;
  await sleepNow(scenario);
  const gateway = new URL(sandbox.urls.gateway);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${INGRESS_HOST} ${gateway.hostname}`],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const url = `http://${INGRESS_HOST}:${gateway.port}/products`;
  const started = performance.now();
  const first = await page.goto(url);
  t.is(first?.status(), 503);
  t.is(await page.title(), `Waking up ${INGRESS_HOST}`);
  await page.locator('body', { hasText: '"pod"' }).waitFor({ timeout: 60_000 });
  const seconds = (performance.now() - started) / 1000;
  const body = JSON.parse(await page.locator('body').innerText()) as { pod: string; path: string };
  t.regex(body.pod, /^web-/);
  t.is(body.path, '/products');
  t.is(page.url(), url, 'the page reloaded into the same URL');
  timeline.log(`browser: waiting page, then the app (${body.pod}) after ${seconds.toFixed(1)}s`);
});

test.serial(
  'both activator pods restarted while asleep: the takeover follows their new IPs and a request still wakes it',
  async (t) => {
    const { scenario, sandbox, timeline } = t.context;
    // A short settle for the next test (kubectl scale), applied by this restart.
    await scenario.kubectl([
      '-n',
      'nozzle-system',
      'patch',
      'configmap',
      'nozzle-config',
      '--type=merge',
      '-p',
      '{"data":{"NOZZLE_TAKEOVER_SETTLE":"5s"}}',
    ]);
    await sleepNow(scenario);
    const old = (await activatorPods(scenario.kube)).map((a) => a.ip).sort();
    await scenario.kubectl(['-n', 'nozzle-system', 'rollout', 'restart', 'deployment/nozzle-activator']);
    await scenario.kubectl([
      '-n',
      'nozzle-system',
      'rollout',
      'status',
      'deployment/nozzle-activator',
      '--timeout=180s',
    ]);
    let fresh: string[] = [];
    await waitFor('two new activator pods, the old ones gone', 120_000, async () => {
      fresh = (await activatorPods(scenario.kube)).map((a) => a.ip).sort();
      const { items } = await scenario.kube.core.listNamespacedPod({
        namespace: 'nozzle-system',
        labelSelector: 'app.kubernetes.io/name=nozzle-activator',
      });
      return fresh.length === 2 && items.length === 2 && fresh.every((ip) => !old.includes(ip));
    });
    await waitAsleep(scenario.kube, 'the takeover slices re-pointed at the new activator pods');
    await waitRoutedToActivator(scenario);
    const slices = await takeoverSlicesIn(scenario.kube);
    t.is(takeoverAddresses(slices, 'web'), fresh.join(','));
    const answer = await viaGateway(sandbox, INGRESS_HOST, { accept: 'application/json' });
    t.is(answer.status, 200);
    t.regex(podOf(answer), /^web-/);
    timeline.log(
      `activators ${old.join(',')} -> ${fresh.join(',')}; slices followed; woken in ${answer.seconds.toFixed(1)}s`,
    );
  },
);

test.serial(
  'kubectl scale by hand wakes the workload cleanly: backup cleared, woke-at stamped, takeover removed',
  async (t) => {
    const { scenario, sandbox, timeline } = t.context;
    await sleepNow(scenario);
    const asleepAt = new Date();
    await scenario.kubectl(['-n', APP_NAMESPACE, 'scale', 'deployment/web', '--replicas=2']);
    await waitFor('web awake without its takeover, its backup cleared', 120_000, async () => {
      const [web, slices] = await Promise.all([
        scenario.kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE }),
        takeoverSlicesIn(scenario.kube),
      ]);
      return (
        web.status?.readyReplicas === 2 &&
        web.metadata?.annotations?.[annotations.replicas] === undefined &&
        takeoverAddresses(slices, 'web') === ''
      );
    });
    const ns = await scenario.kube.core.readNamespace({ name: APP_NAMESPACE });
    const wokeAt = ns.metadata?.annotations?.[annotations.wokeAt] ?? '';
    t.true(
      new Date(wokeAt) >= asleepAt,
      `woke-at ${wokeAt} stamped after the sleep at ${asleepAt.toISOString()}`,
    );
    const answer = await sandbox.get(`http://web.${APP_NAMESPACE}.svc.cluster.local/`, {
      accept: 'application/json',
    });
    t.is(answer.status, 200);
    t.true(answer.seconds < 3, `answered at once, no wake needed: ${answer.seconds.toFixed(2)}s`);
    timeline.log(`kubectl scale: web awake, takeover removed, woke-at ${wokeAt}`);
    // The rest of the namespace wakes on its next request.
    const api = await viaGateway(sandbox, ROUTE_HOST, { accept: 'application/json' });
    t.is(api.status, 200);
  },
);

test.serial(
  'two activators share one wake: concurrent connections through both, the replicas restored once',
  async (t) => {
    const { scenario, sandbox, timeline } = t.context;
    await sleepNow(scenario);
    const since = new Date();
    const { ip, port } = await clusterAddress(scenario, 'web');
    // kube-proxy spreads these over both activator pods.
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        sandbox.get(`http://${ip}:${port}/c${i}`, { accept: 'application/json' }),
      ),
    );
    t.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 200),
    );
    t.true(answers.every((a) => /^web-/.test(podOf(a))));
    t.is(await replicasOf(scenario, 'web'), 2, 'restored to 2, not more');
    const events = await scenario.kube.core.listNamespacedEvent({ namespace: APP_NAMESPACE });
    const woke = events.items.filter(
      (e) =>
        e.reason === 'Woke' &&
        new Date(e.lastTimestamp ?? e.eventTime ?? 0) >= new Date(since.getTime() - 1_000),
    );
    t.true(woke.length <= 1, `one Woke event for one wake: ${woke.length}`);
    timeline.log(`16 concurrent connections through 2 activators: all 200, web restored to 2 once`);
  },
);

test.serial('a sleep racing a wake never leaves a workload at 0 without takeover', async (t) => {
  t.timeout(5 * 60_000);
  const { scenario, sandbox, timeline } = t.context;
  const { ip, port } = await clusterAddress(scenario, 'web');
  for (const delay of [0, 400, 1_500, 3_000]) {
    await sleepNow(scenario);
    const request = sandbox
      .get(`http://${ip}:${port}/race`, { accept: 'application/json' })
      .catch((err: Error) => err);
    await sleep(delay);
    await nozzleCli(scenario, ['sleep', APP_NAMESPACE]).catch(() => '');
    await request;
    // Settled: every workload is either running or at 0 behind its takeover.
    await sleep(3_000);
    const [web, slices] = await Promise.all([
      scenario.kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE }),
      takeoverSlicesIn(scenario.kube),
    ]);
    if (web.spec?.replicas === 0) {
      t.not(
        takeoverAddresses(slices, 'web'),
        '',
        `sleep ${delay} ms after the request: web at 0 has its takeover`,
      );
    }
    const after = await sandbox.get(`http://${ip}:${port}/after`, { accept: 'application/json' });
    t.is(after.status, 200, `sleep ${delay} ms after the request: the next request is answered`);
    timeline.log(
      `race (sleep ${delay} ms after a request): web ${web.spec?.replicas}, next request ${after.status}`,
    );
  }
});

test.serial(
  'the user’s Services, Ingress and HTTPRoute never changed, and Nozzle wrote no controller-managed EndpointSlice',
  async (t) => {
    const { scenario, before } = t.context;
    t.deepEqual(await userObjects(scenario), before);
    t.deepEqual(await controllerSlicesWrittenByNozzle(scenario.kube), []);
  },
);
