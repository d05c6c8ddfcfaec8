/**
 * The story Nozzle exists for, on a real control plane: the demo namespace
 * goes to sleep through the queue while KEDA scales the worker from zero and
 * back, then wakes on its first HTTP request. Shared by `npm run test:e2e`
 * (which asserts on the result) and `npm run demo` (which narrates it).
 */
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeInformer, type V1Deployment, type V1Ingress } from '@kubernetes/client-node';
import { connectKube, type Kube } from '../../lib/kube/client.js';
import { annotations, labels } from '../../lib/names.js';
import { nats as natsSettings } from '../../lib/config/nozzle.js';
import { activatorSettings } from '../../activator/settings.js';
import type { TestEnvironment } from '../testenv/environment.js';
import { kubeconfig } from '../testenv/apiserver.js';
import { findBinaries } from '../testenv/binaries.js';
import { PodRunner } from '../testenv/pod-runner.js';
import { applyManifests } from './manifests.js';
import type { Timeline } from './timeline.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const run = promisify(execFile);

export const DEMO_NAMESPACE = 'nozzle-demo';
export const DEMO_HOST = 'demo.nozzle.local';
const SYSTEM = 'nozzle-system';

export interface Scenario {
  readonly kube: Kube;
  readonly activators: PodRunner;
  readonly workers: PodRunner;
  /** The demo app's stand-in: what the activator forwards to once the namespace is awake. */
  readonly appUrl: string;
  stop(): Promise<void>;
}

export interface WakeResult {
  readonly waitingPage: { status: number; retryAfter: string | undefined; body: string };
  readonly response: { status: number; coldStart: string | undefined; body: string };
}

/** Applies the manifests and starts the stand-ins; the demo namespace is awake when it resolves. */
export async function setUp(env: TestEnvironment, timeline: Timeline): Promise<Scenario> {
  const binaries = await findBinaries({ e2e: true });
  const kube = connectKube(env.kubeConfig());
  const app = await startDemoApp();
  const appAddress = `127.0.0.1:${(app.address() as { port: number }).port}`;

  applyManifests({
    kubectl: binaries.kubectl,
    kubeconfig: env.kubeconfigPath,
    dir: env.dir,
    natsMonitorHostPort: new URL(env.nats.monitorUrl).host,
  });
  timeline.log('applied k8s/ and keda/ with kubectl apply -k');

  const common = {
    config: env.kubeConfig(),
    core: kube.core,
    namespace: SYSTEM,
    dir: env.dir,
    kubeconfigFor: (token: string, user: string) => kubeconfig(env.apiserver, user, token),
  };
  const workers = new PodRunner({
    ...common,
    labelSelector: 'app.kubernetes.io/name=nozzle-worker',
    portEnv: 'NOZZLE_WORKER_PORT',
    overrides: { [natsSettings.natsUrl.env]: env.nats.url },
    onEvent: (event, pod) => timeline.log(`worker process ${event} for pod ${pod}`),
  });
  const activators = new PodRunner({
    ...common,
    labelSelector: 'app.kubernetes.io/name=nozzle-activator',
    portEnv: activatorSettings.port.env,
    overrides: {
      [natsSettings.natsUrl.env]: env.nats.url,
      [activatorSettings.devUpstreams.env]:
        `${DEMO_NAMESPACE}/frontend=${appAddress},${DEMO_NAMESPACE}/backend=${appAddress}`,
    },
    onEvent: (event, pod) => timeline.log(`activator process ${event} for pod ${pod}`),
  });
  await workers.start();
  await activators.start();

  const replicas = watchWorkerReplicas(env, timeline);
  await replicas.start();

  await waitFor('the demo app Ready (frontend 3/3, backend 2/2)', 120_000, async () => {
    const [frontend, backend] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name: 'frontend', namespace: DEMO_NAMESPACE }),
      kube.apps.readNamespacedStatefulSet({ name: 'backend', namespace: DEMO_NAMESPACE }),
    ]);
    return frontend.status?.readyReplicas === 3 && backend.status?.readyReplicas === 2;
  });
  timeline.log(
    'demo awake: frontend 3/3 Ready, backend 2/2 Ready (kube-controller-manager + scheduler + kwok)',
  );
  await waitFor('two activator processes', 60_000, () => Promise.resolve(activators.processes.length === 2));

  return {
    kube,
    activators,
    workers,
    appUrl: `http://${appAddress}`,
    async stop() {
      await replicas.stop();
      await workers.stop();
      await activators.stop();
      app.close();
    },
  };
}

/** Step 2: the publisher queues the demo's workloads; KEDA scales the worker 0 -> 1; they sleep; back to 0. */
export async function sleepThroughTheQueue(
  env: TestEnvironment,
  scenario: Scenario,
  timeline: Timeline,
): Promise<void> {
  const { kube } = scenario;
  const worker = await kube.apps.readNamespacedDeployment({ name: 'nozzle-worker', namespace: SYSTEM });
  timeline.log(`worker Deployment has ${worker.spec?.replicas ?? 0} replicas`);

  // The nozzle-setup Job's and the publisher CronJob's stand-ins: the same
  // commands, as processes, with the publisher's own ServiceAccount token.
  await run(process.execPath, [cli, 'setup'], { env: { ...process.env, NATS_URL: env.nats.url } });
  timeline.log('nozzle setup: stream NOZZLE and consumer nozzle-worker exist');
  const token = await kube.core.createNamespacedServiceAccountToken({
    name: 'nozzle-publisher',
    namespace: SYSTEM,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const publisherConfig = join(env.dir, 'kubeconfig-publisher');
  writeFileSync(publisherConfig, kubeconfig(env.apiserver, 'nozzle-publisher', token.status?.token ?? ''));
  timeline.mark('published');
  const published = await run(process.execPath, [cli, 'publish', '--once'], {
    env: { ...process.env, NATS_URL: env.nats.url, KUBECONFIG: publisherConfig, LOG_LEVEL: 'info' },
  });
  timeline.log(`nozzle publish --once: ${summary(published.stdout)}`);

  await waitFor('KEDA to scale the worker from 0', 90_000, async () => {
    const d = await kube.apps.readNamespacedDeployment({ name: 'nozzle-worker', namespace: SYSTEM });
    return (d.spec?.replicas ?? 0) >= 1;
  });
  timeline.mark('worker-scaled-up');
  await waitFor('a worker process', 60_000, () => Promise.resolve(scenario.workers.processes.length > 0));
  timeline.mark('worker-running');

  await waitFor('the demo workloads asleep', 60_000, async () => {
    const [frontend, backend] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name: 'frontend', namespace: DEMO_NAMESPACE }),
      kube.apps.readNamespacedStatefulSet({ name: 'backend', namespace: DEMO_NAMESPACE }),
    ]);
    return frontend.spec?.replicas === 0 && backend.spec?.replicas === 0;
  });
  timeline.mark('asleep');
  timeline.log('demo asleep: frontend 3 -> 0, backend 2 -> 0, replicas backed up in nozzle.io/replicas');
  const ingress = await kube.networking.readNamespacedIngress({ name: 'demo', namespace: DEMO_NAMESPACE });
  timeline.log(`Ingress demo routes to ${routeTargets(ingress)}`);

  await waitFor(
    'the consumer lag back to 0',
    60_000,
    async () => (await consumerLag(env.nats.monitorUrl)) === 0,
  );
  timeline.log('consumer nozzle-worker: nothing pending, nothing unacknowledged');
  await waitFor('KEDA to scale the worker back to 0 after its cooldown', 180_000, async () => {
    const d = await kube.apps.readNamespacedDeployment({ name: 'nozzle-worker', namespace: SYSTEM });
    return (d.spec?.replicas ?? 0) === 0;
  });
  timeline.mark('worker-scaled-down');
  await waitFor('the worker process to stop', 90_000, () =>
    Promise.resolve(scenario.workers.processes.length === 0),
  );
}

/** Step 3: a browser gets the waiting page, an API request is held and answered once the app is Ready. */
export async function wakeOnFirstRequest(scenario: Scenario, timeline: Timeline): Promise<WakeResult> {
  const activator = scenario.activators.processes[0];
  if (!activator) throw new Error('no activator process is running');
  timeline.mark('request');
  const waitingPage = await get(activator.port, { accept: 'text/html' });
  timeline.log(`browser GET http://${DEMO_HOST}/ -> ${waitingPage.status} waiting page`);
  const pending = get(activator.port, { accept: 'application/json' });
  const response = await pending;
  timeline.mark('answered');
  timeline.log(
    `API GET http://${DEMO_HOST}/ -> ${response.status} from the app (X-Nozzle-Cold-Start: ${response.headers['x-nozzle-cold-start'] ?? 'absent'})`,
  );
  await waitFor('the Ingress restored', 60_000, async () => {
    const ingress = await scenario.kube.networking.readNamespacedIngress({
      name: 'demo',
      namespace: DEMO_NAMESPACE,
    });
    return (
      !ingress.metadata?.annotations?.[annotations.backends] && !ingress.metadata?.labels?.[labels.managed]
    );
  });
  const ingress = await scenario.kube.networking.readNamespacedIngress({
    name: 'demo',
    namespace: DEMO_NAMESPACE,
  });
  timeline.log(`Ingress demo restored: routes to ${routeTargets(ingress)}`);
  return {
    waitingPage: {
      status: waitingPage.status,
      retryAfter: waitingPage.headers['retry-after'],
      body: waitingPage.body,
    },
    response: {
      status: response.status,
      coldStart: response.headers['x-nozzle-cold-start'],
      body: response.body,
    },
  };
}

function routeTargets(ingress: V1Ingress): string {
  return (ingress.spec?.rules ?? [])
    .flatMap((r) => r.http?.paths ?? [])
    .map((p) => `${p.path ?? '/'} -> ${p.backend.service?.name ?? '?'}`)
    .join(', ');
}

function summary(stdout: string): string {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    const line = JSON.parse(last) as { msg?: string; published?: number };
    return `${line.msg ?? last}${line.published === undefined ? '' : ` (published ${line.published})`}`;
  } catch {
    return last;
  }
}

function watchWorkerReplicas(
  env: TestEnvironment,
  timeline: Timeline,
): { start(): Promise<void>; stop(): Promise<void> } {
  const kube = connectKube(env.kubeConfig());
  const informer = makeInformer<V1Deployment>(
    env.kubeConfig(),
    `/apis/apps/v1/namespaces/${SYSTEM}/deployments`,
    () => kube.apps.listNamespacedDeployment({ namespace: SYSTEM }),
  );
  let last: number | undefined;
  const seen = (d: V1Deployment): void => {
    if (d.metadata?.name !== 'nozzle-worker') return;
    const now = d.spec?.replicas ?? 0;
    if (last !== undefined && now !== last) timeline.log(`worker replicas ${last} -> ${now} (KEDA)`);
    last = now;
  };
  informer.on('add', seen);
  informer.on('update', seen);
  let stopped = false;
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void (stopped || informer.start().catch(() => {})), 1_000).unref();
  });
  return {
    start: () => informer.start(),
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}

/** num_pending + num_ack_pending of the nozzle-worker consumer, from /jsz as KEDA reads it. */
export async function consumerLag(monitorUrl: string): Promise<number> {
  const res = await fetch(`${monitorUrl}/jsz?consumers=true`);
  const jsz = (await res.json()) as {
    account_details?: {
      stream_detail?: {
        name: string;
        consumer_detail?: { name: string; num_pending: number; num_ack_pending: number }[];
      }[];
    }[];
  };
  const consumer = jsz.account_details
    ?.flatMap((a) => a.stream_detail ?? [])
    .find((s) => s.name === 'NOZZLE')
    ?.consumer_detail?.find((c) => c.name === 'nozzle-worker');
  if (!consumer) return Number.NaN;
  return consumer.num_pending + consumer.num_ack_pending;
}

async function startDemoApp(): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`hello from the ${DEMO_NAMESPACE} app (${req.method} ${req.url})\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function get(
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host: DEMO_HOST, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: Object.fromEntries(
              Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
            ),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`, { cause: lastError });
}
