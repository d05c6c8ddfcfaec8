/**
 * The story Nozzle exists for, on the sandbox cluster (scripts/testenv/sandbox):
 * `kubectl apply -k k8s/ && kubectl apply -k keda/` as a user runs it, an
 * opted-in namespace of stand-in apps reached through Traefik by an Ingress
 * and an HTTPRoute, the publisher's CronJob run once, KEDA scaling the
 * worker 0 -> 1 -> N -> 0 while the namespace sleeps, and a request through
 * the gateway that wakes it. Shared by `npm run test:e2e` (which asserts on
 * the results) and `npm run demo` (which narrates them).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet, type HttpAnswer } from '../testenv/servers/http.js';
import { BatchV1Api, makeInformer, type V1Deployment } from '@kubernetes/client-node';
import { connectKube, type Kube } from '../../lib/kube/client.js';
import { parseDuration } from '../../lib/duration.js';
import { annotations } from '../../lib/names.js';
import type { Sandbox } from '../testenv/sandbox/sandbox.js';
import { applyObjects } from '../testenv/servers/apply.js';
import { parseManifests } from '../testenv/servers/yaml.js';
import type { Timeline } from './timeline.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

export const APP_NAMESPACE = 'e2e-app';
export const INGRESS_HOST = 'web.e2e.test';
export const ROUTE_HOST = 'api.e2e.test';
/** Opted-in Deployments that never run a pod (paused): a burst of sleep messages for KEDA to scale on. */
export const BULK_NAMESPACE = 'e2e-bulk';
export const BULK_WORKLOADS = 500;
/** Both namespaces' nozzle.io/idle-after (app.yaml says it too): short, so the story need not wait long. */
const IDLE_AFTER = '5s';
const SYSTEM = 'nozzle-system';

export interface Scenario {
  readonly sandbox: Sandbox;
  readonly kube: Kube;
  /** Every worker replica count KEDA and the HPA set, in order, starting at 0. */
  readonly workerReplicas: number[];
  kubectl(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Nozzle installed as a user installs it; kubectl as a user runs it. */
export interface Installed {
  readonly kube: Kube;
  readonly kubectl: (args: readonly string[]) => Promise<string>;
}

/** What to install: k8s/ by default, or an overlay of it (examples/nats-cluster/), and how many NATS servers it runs. */
export interface InstallOptions {
  /** The kustomization directory applied instead of k8s/, relative to the repository. */
  readonly kustomization?: string;
  /** NATS servers to wait for (the StatefulSet's Ready replicas): 1, or 3 with the nats-cluster component. */
  readonly natsReplicas?: number;
}

/** `kubectl apply -k k8s/ && kubectl apply -k keda/` (or an overlay of k8s/); resolves when NATS, the setup Job and the activator are ready. */
export async function installNozzle(
  sandbox: Sandbox,
  timeline: Timeline,
  options: InstallOptions = {},
): Promise<Installed> {
  const { kustomization = 'k8s/', natsReplicas = 1 } = options;
  const kube = connectKube(sandbox.kubeConfig());
  const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
  const kubectl = async (args: readonly string[]): Promise<string> =>
    (
      await run(sandbox.binaries.kubectl, [...args], {
        env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath },
        cwd: repo,
      })
    ).stdout;

  await kubectl(['apply', '-k', kustomization]);
  await kubectl(['apply', '-k', 'keda/']);
  timeline.log(
    kustomization === 'k8s/'
      ? 'kubectl apply -k k8s/ && kubectl apply -k keda/ (no overlay, no overrides)'
      : `kubectl apply -k ${kustomization} && kubectl apply -k keda/`,
  );
  await waitFor(`${natsReplicas} NATS server(s), the setup Job and two activator pods`, 180_000, async () => {
    const [nats, setup, activator] = await Promise.all([
      kube.apps.readNamespacedStatefulSet({ name: 'nats', namespace: SYSTEM }),
      batch.readNamespacedJob({ name: 'nozzle-setup', namespace: SYSTEM }),
      kube.apps.readNamespacedDeployment({ name: 'nozzle-activator', namespace: SYSTEM }),
    ]);
    return (
      nats.status?.readyReplicas === natsReplicas &&
      (setup.status?.succeeded ?? 0) >= 1 &&
      activator.status?.readyReplicas === 2
    );
  });
  timeline.log(
    `NATS ${natsReplicas}/${natsReplicas} Ready (real nats-server in its pod), nozzle setup Job Complete, activator 2/2 Ready`,
  );
  return { kube, kubectl };
}

/**
 * For tests: the publisher's CronJob keeps its schedule off (`suspend: true`),
 * so that every round is one the test starts (`kubectl create job
 * --from=cronjob/nozzle-publisher`, which a suspended CronJob still allows).
 * A scheduled round every 5 minutes would put the test's namespaces (idle
 * after seconds) to sleep in the middle of a step.
 */
export async function suspendPublisherSchedule(installed: Installed, timeline: Timeline): Promise<void> {
  await installed.kubectl([
    '-n',
    SYSTEM,
    'patch',
    'cronjob',
    'nozzle-publisher',
    '--type=merge',
    '-p',
    '{"spec":{"suspend":true}}',
  ]);
  timeline.log('the publisher CronJob suspended: the test starts every round itself');
}

export interface SetUpOptions {
  /** false: the publisher CronJob suspended, every round started by the test. */
  readonly scheduledRounds: boolean;
  /** false: no BULK_NAMESPACE (default true). */
  readonly bulk?: boolean;
  readonly install?: InstallOptions;
}

/** Installs Nozzle and the app as a user would; resolves when both run. */
export async function setUp(
  sandbox: Sandbox,
  timeline: Timeline,
  options: SetUpOptions = { scheduledRounds: true },
): Promise<Scenario> {
  const bulk = options.bulk ?? true;
  const installed = await installNozzle(sandbox, timeline, options.install);
  const { kube, kubectl } = installed;
  if (!options.scheduledRounds) await suspendPublisherSchedule(installed, timeline);
  // The worker starts at 0 (KEDA's idle state) and stays there until the publisher runs.
  const replicas = watchWorkerReplicas(sandbox, timeline);
  await replicas.start();

  await applyObjects(
    sandbox.kubeConfig(),
    parseManifests(readFileSync(`${repo}scripts/e2e/app.yaml`, 'utf8')),
  );
  if (bulk) await createBulk(kube);
  await waitFor(`the ${APP_NAMESPACE} app Ready`, 120_000, async () => {
    const [web, api, tcp] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE }),
      kube.apps.readNamespacedDeployment({ name: 'api', namespace: APP_NAMESPACE }),
      kube.apps.readNamespacedStatefulSet({ name: 'tcp', namespace: APP_NAMESPACE }),
    ]);
    return (
      web.status?.readyReplicas === 2 && api.status?.readyReplicas === 1 && tcp.status?.readyReplicas === 1
    );
  });
  timeline.log(
    `${APP_NAMESPACE} Ready: web 2/2 (Ingress), api 1/1 (HTTPRoute), tcp 1/1` +
      (bulk ? `; ${BULK_WORKLOADS} paused Deployments in ${BULK_NAMESPACE}` : ''),
  );
  return {
    sandbox,
    kube,
    workerReplicas: replicas.seen,
    kubectl,
    stop: () => replicas.stop(),
  };
}

/** The bulk namespace and its paused Deployments, created 25 at a time. */
async function createBulk(kube: Kube): Promise<void> {
  await kube.core.createNamespace({
    body: {
      metadata: {
        name: BULK_NAMESPACE,
        labels: { nozzle: 'true' },
        annotations: { [annotations.idleAfter]: IDLE_AFTER },
      },
    },
  });
  const names = Array.from({ length: BULK_WORKLOADS }, (_, i) => `bulk-${i}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names.slice(i, i + 25).map((name) =>
        kube.apps.createNamespacedDeployment({
          namespace: BULK_NAMESPACE,
          body: {
            metadata: { name },
            spec: {
              replicas: 1,
              paused: true,
              selector: { matchLabels: { app: name } },
              template: {
                metadata: { labels: { app: name } },
                spec: { containers: [{ name: 'app', image: 'nozzle.test/echo:1' }] },
              },
            },
          },
        }),
      ),
    );
  }
}

/** A request through the gateway's entry point on this machine's loopback, routed by Host. */
export function viaGateway(
  sandbox: Sandbox,
  host: string,
  headers: Record<string, string> = {},
  path = '/',
): Promise<HttpAnswer> {
  const url = new URL(sandbox.urls.gateway);
  return httpGet({ host: url.hostname, port: Number(url.port), path, headers: { host, ...headers } });
}

/** A browser's GET and an API client's GET for the sleeping Ingress host: the waiting page, then the app after its cold start. */
export async function wakeThroughTheGateway(
  scenario: Scenario,
  timeline: Timeline,
): Promise<{ page: HttpAnswer; api: HttpAnswer }> {
  timeline.mark('request');
  const page = await viaGateway(scenario.sandbox, INGRESS_HOST, { accept: 'text/html' });
  timeline.log(`browser GET http://${INGRESS_HOST}/ through Traefik -> ${page.status} (waiting page)`);
  const api = await viaGateway(scenario.sandbox, INGRESS_HOST, { accept: 'application/json' });
  timeline.mark('answered');
  timeline.log(
    `API GET http://${INGRESS_HOST}/ through Traefik -> ${api.status} in ${api.seconds.toFixed(1)}s from pod ${podOf(api)}`,
  );
  return { page, api };
}

/** The echo app's own answer names its pod. */
export function podOf(answer: HttpAnswer): string {
  try {
    return (JSON.parse(answer.body) as { pod?: string }).pod ?? '(none)';
  } catch {
    return '(not the app)';
  }
}

/**
 * Once idle-after has passed since the app's last activity, the publisher's
 * CronJob run once (`kubectl create job --from`); resolves when the Job exists.
 */
export async function startPublisherRound(scenario: Scenario, timeline: Timeline): Promise<void> {
  // Activity is what keeps a namespace awake: creating it and its pods was
  // the last. Let idle-after pass, as a person's namespace would go quiet.
  await sleep(parseDuration(IDLE_AFTER) + 1_000);
  timeline.mark('published');
  await scenario.kubectl([
    '-n',
    SYSTEM,
    'create',
    'job',
    '--from=cronjob/nozzle-publisher',
    'nozzle-publisher-e2e',
  ]);
  timeline.log('kubectl create job --from=cronjob/nozzle-publisher: the publisher runs in its pod');
}

/** Whether web, api and tcp of APP_NAMESPACE are all at 0 replicas. */
export async function appAsleep(kube: Kube): Promise<boolean> {
  const [web, api, tcp] = await Promise.all([
    kube.apps.readNamespacedDeployment({ name: 'web', namespace: APP_NAMESPACE }),
    kube.apps.readNamespacedDeployment({ name: 'api', namespace: APP_NAMESPACE }),
    kube.apps.readNamespacedStatefulSet({ name: 'tcp', namespace: APP_NAMESPACE }),
  ]);
  return web.spec?.replicas === 0 && api.spec?.replicas === 0 && tcp.spec?.replicas === 0;
}

/** The publisher's CronJob run once (`kubectl create job --from`); KEDA scales the worker; everything opted in sleeps. */
export async function sleepThroughTheQueue(scenario: Scenario, timeline: Timeline): Promise<void> {
  const { kube } = scenario;
  await startPublisherRound(scenario, timeline);
  await waitFor('KEDA to scale the worker from 0', 120_000, () =>
    Promise.resolve(Math.max(...scenario.workerReplicas) >= 1),
  );
  timeline.mark('worker-scaled-up');
  await waitFor(`${APP_NAMESPACE} asleep`, 180_000, () => appAsleep(kube));
  timeline.mark('asleep');
  timeline.log(`${APP_NAMESPACE} asleep: web 2 -> 0, api 1 -> 0, tcp 1 -> 0`);
  await waitFor(`all ${BULK_WORKLOADS} bulk Deployments asleep`, 240_000, async () => {
    const list = await kube.apps.listNamespacedDeployment({ namespace: BULK_NAMESPACE });
    return list.items.filter((d) => d.spec?.replicas === 0).length === BULK_WORKLOADS;
  });
  timeline.mark('bulk-asleep');
  timeline.log(`${BULK_NAMESPACE} asleep: ${BULK_WORKLOADS} Deployments`);
  await waitFor('KEDA to scale the worker back to 0 after its cooldown', 240_000, () =>
    Promise.resolve(scenario.workerReplicas.at(-1) === 0),
  );
  timeline.mark('worker-scaled-down');
}

function watchWorkerReplicas(
  sandbox: Sandbox,
  timeline: Timeline,
): { seen: number[]; start(): Promise<void>; stop(): Promise<void> } {
  const kube = connectKube(sandbox.kubeConfig());
  const informer = makeInformer<V1Deployment>(
    sandbox.kubeConfig(),
    `/apis/apps/v1/namespaces/${SYSTEM}/deployments`,
    () => kube.apps.listNamespacedDeployment({ namespace: SYSTEM }),
  );
  const seen: number[] = [];
  const record = (d: V1Deployment): void => {
    if (d.metadata?.name !== 'nozzle-worker') return;
    const now = d.spec?.replicas ?? 0;
    const last = seen.at(-1);
    if (now === last) return;
    seen.push(now);
    if (last !== undefined) timeline.log(`worker replicas ${last} -> ${now}`);
  };
  informer.on('add', record);
  informer.on('update', record);
  let stopped = false;
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void (stopped || informer.start().catch(() => {})), 1_000).unref();
  });
  return {
    seen,
    start: () => informer.start(),
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
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
