/**
 * Activity-based idle on the sandbox cluster: real Traefik scraped by real
 * Prometheus every 5 s, the `traefik` preset set in nozzle-config as
 * docs/activity.md says, and the publisher run as its CronJob runs it
 * (`kubectl create job --from=cronjob/nozzle-publisher`), its own log read
 * for what it decided and why. With idle-after 40 s: a namespace with a
 * request through the gateway every 10 s stays awake past it; one whose
 * traffic stops sleeps once it has passed; a rollout resets the clock; a
 * namespace labelled while busy is not put to sleep; with Prometheus
 * stopped, a round puts nothing to sleep and says why. Assertions are on the
 * publisher's decisions and on workload replicas and their nozzle.io/replicas
 * backup, not on how requests reach a sleeping namespace. The timeline is
 * kept in test-results/e2e-activity-timeline.txt.
 */
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Sandbox } from '../../scripts/testenv/sandbox/sandbox.js';
import { applyObjects } from '../../scripts/testenv/servers/apply.js';
import { Timeline } from '../../scripts/e2e/timeline.js';
import {
  installNozzle,
  suspendPublisherSchedule,
  viaGateway,
  waitFor,
  type Installed,
} from '../../scripts/e2e/scenario.js';
import { runPublisherJob, type PublisherRun } from '../../scripts/e2e/publisher-job.js';
import { annotations } from '../../lib/names.js';
import { nozzle } from '../support/people-cli.js';

const timelineFile = fileURLToPath(
  new URL('../../../test-results/e2e-activity-timeline.txt', import.meta.url),
);

const IDLE_AFTER = 40_000;
/** Prometheus's scrape interval in the sandbox; the query's range is two of them and a step. */
const SCRAPE = 5_000;
/** How much later than the last request the query may place it: a step (one scrape) and two scrapes. */
const QUERY_SLACK = 3 * SCRAPE;
const REQUEST_EVERY = 10_000;
const MARGIN = 4_000;

const NS = {
  busy: 'act-busy', // opted in, a request every 10 s all along
  stops: 'act-stops', // opted in, requests that stop
  rollout: 'act-rollout', // opted in, no requests, a rollout
  labelled: 'act-labelled', // busy, opted in (labelled) mid-run
  quiet: 'act-quiet', // opted in late, no requests: due when Prometheus is down
} as const;

test('requests through the gateway keep a namespace awake; a rollout resets the clock; Prometheus down puts nothing to sleep', async (t) => {
  t.timeout(8 * 60_000);
  const timeline = new Timeline(timelineFile, (line) => t.log(line));
  const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
  const traffic = new Traffic(sandbox);
  let failed = true;
  t.teardown(async () => {
    traffic.stopAll();
    await sandbox.stop({ keepLogs: failed });
    if (failed) console.error(`sandbox logs kept in ${sandbox.dir}`);
  });
  const installed = await installNozzle(sandbox, timeline);
  await suspendPublisherSchedule(installed, timeline);
  const { kube, kubectl } = installed;
  await kubectl([
    '-n',
    'nozzle-system',
    'patch',
    'configmap',
    'nozzle-config',
    '--type=merge',
    '-p',
    JSON.stringify({
      data: {
        NOZZLE_ACTIVITY_PROMETHEUS_URL: 'http://prometheus.monitoring.svc:9090',
        NOZZLE_ACTIVITY_PRESET: 'traefik',
        NOZZLE_ACTIVITY_SCRAPE_INTERVAL: '5s',
        LOG_LEVEL: 'debug', // each workload's skip reason
      },
    }),
  ]);
  timeline.log('nozzle-config: NOZZLE_ACTIVITY_PROMETHEUS_URL, NOZZLE_ACTIVITY_PRESET=traefik, scrape 5s');

  for (const ns of [NS.busy, NS.stops, NS.rollout, NS.labelled]) {
    await applyObjects(sandbox.kubeConfig(), app(ns, ns !== NS.labelled));
  }
  await waitReady(installed, [NS.busy, NS.stops, NS.rollout, NS.labelled]);
  timeline.log(`apps Ready; idle-after ${IDLE_AFTER / 1000}s; ${NS.labelled} not opted in yet`);
  await waitFor('Traefik to route the Ingresses', 60_000, async () => {
    const answers = await Promise.all(
      [NS.busy, NS.stops, NS.labelled].map((ns) => viaGateway(sandbox, `${ns}.activity.test`)),
    );
    return answers.every((a) => a.status === 200);
  });
  for (const ns of [NS.busy, NS.stops, NS.labelled]) traffic.start(ns);

  const slept = async (ns: string): Promise<boolean> => {
    const web = await kube.apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    return web.spec?.replicas === 0 && web.metadata?.annotations?.[annotations.replicas] === '1';
  };
  const replicasOf = async (ns: string): Promise<number | undefined> =>
    (await kube.apps.readNamespacedDeployment({ name: 'web', namespace: ns })).spec?.replicas;
  const created = Date.now();

  // The rollout namespace's clock (its creation) nearly runs out; a rollout restarts it.
  await sleep(IDLE_AFTER - 10_000);
  await kubectl(['-n', NS.rollout, 'rollout', 'restart', 'deployment/web']);
  const rolledOut = Date.now();
  timeline.log(`kubectl rollout restart deployment/web in ${NS.rollout}`);
  traffic.stop(NS.stops);
  timeline.log(`requests to ${NS.stops} stop (last ${traffic.ago(NS.stops)} ago)`);

  // Busy for longer than idle-after since creation: the label is the last change, requests continue.
  await sleep(Math.max(0, created + IDLE_AFTER + MARGIN - Date.now()));
  await kubectl(['label', 'namespace', NS.labelled, 'nozzle=true']);
  const labelled = Date.now();
  timeline.log(`kubectl label namespace ${NS.labelled} nozzle=true (busy: a request every 10 s)`);
  await sleep(5_000);

  const second = await round(sandbox, installed, timeline, 'activity-1');
  t.is(second.report.traffic, 'counted');
  t.is(second.report.queryCalls, 1);
  t.is(second.report.due, 0, 'nothing is due: every namespace had activity within idle-after');
  const busyPast = (second.at - created) / 1000;
  t.true(busyPast > IDLE_AFTER / 1000, `${NS.busy} created ${busyPast.toFixed(0)}s ago`);
  t.regex(reason(second, NS.busy), /^idle for [\d.]+m?s of 40s \(last: requests seen by traefik\)$/);
  t.regex(reason(second, NS.stops), /last: requests seen by traefik/);
  t.regex(reason(second, NS.rollout), /last: (Deployment\/web changed by kubectl|pod web-\S+ created)/);
  t.regex(reason(second, NS.labelled), /last: (requests seen by traefik|Namespace changed by kubectl)/);
  for (const ns of [NS.busy, NS.stops, NS.rollout, NS.labelled]) t.is(await replicasOf(ns), 1, ns);

  // The stopped traffic and the rollout are more than idle-after ago; the label is too.
  const due = Math.max(
    traffic.last(NS.stops) + QUERY_SLACK + IDLE_AFTER,
    rolledOut + IDLE_AFTER,
    labelled + IDLE_AFTER,
  );
  await sleep(Math.max(0, due + MARGIN - Date.now()));
  const third = await round(sandbox, installed, timeline, 'activity-2');
  const busyLongest = (third.at - created) / 1000;
  t.is(third.report.traffic, 'counted');
  t.is(
    third.report.due,
    2,
    `${NS.stops} and ${NS.rollout} are due, nothing else: ${JSON.stringify(third.report)}`,
  );
  t.regex(reason(third, NS.busy), /last: requests seen by traefik/);
  t.regex(
    reason(third, NS.labelled),
    /last: requests seen by traefik/,
    'labelled while busy: its requests count',
  );
  // A namespace with nothing at all going on, created now (on a loaded machine the rounds above may
  // take longer than its idle-after): due by every other signal at the Prometheus-down round.
  await applyObjects(sandbox.kubeConfig(), app(NS.quiet, true));
  await waitReady(installed, [NS.quiet]);
  const quietCreated = Date.now(); // its last activity: its pod's creation, before this
  await waitFor(
    `${NS.stops} and ${NS.rollout} asleep`,
    120_000,
    async () => (await slept(NS.stops)) && (await slept(NS.rollout)),
  );
  const sleptAfter = (Date.now() - traffic.last(NS.stops)) / 1000;
  timeline.log(
    `${NS.stops} and ${NS.rollout} asleep (replicas 0, ${annotations.replicas}=1); ${NS.stops} ${sleptAfter.toFixed(0)}s after its last request`,
  );
  for (const ns of [NS.busy, NS.labelled]) t.is(await replicasOf(ns), 1, `${ns} stays awake`);

  const status = await nozzle(['status', '-o', 'json'], { KUBECONFIG: sandbox.kubeconfigPath });
  t.is(status.code, 0, status.stderr);
  const views = (
    JSON.parse(status.stdout) as {
      namespaces: { namespace: string; state: string; saved: { notRunning: { cpu: number } } }[];
    }
  ).namespaces;
  t.like(
    views.find((v) => v.namespace === NS.stops),
    { state: 'asleep', saved: { notRunning: { cpu: 0.1 } } },
  );
  t.like(
    views.find((v) => v.namespace === NS.busy),
    { state: 'awake' },
  );

  // As a person would (the README shows this output): the table, a wake until Ready, a sleep.
  const person = async (args: readonly string[]): Promise<string> => {
    const r = await nozzle(args, { KUBECONFIG: sandbox.kubeconfigPath });
    t.is(r.code, 0, `nozzle ${args.join(' ')}: ${r.stderr}`);
    timeline.log(`$ nozzle ${args.join(' ')}\n${r.stdout.trimEnd()}`);
    return r.stdout;
  };
  t.regex(await person(['status', NS.stops, '-o', 'wide']), /asleep .* web 0 \(1\) .* 0\.1 cpu, 64Mi/);
  t.regex(await person(['wake', NS.stops, '--wait']), /all 1 workload of act-stops ready/);
  t.is(await replicasOf(NS.stops), 1);
  t.regex(await person(['sleep', NS.stops]), /deployment\/web +slept \(replicas 1 -> 0\)/);
  t.true(await slept(NS.stops));
  await person(['status']);

  // Prometheus down: the quiet namespace is idle by every other signal, and still nothing is put to sleep.
  await sandbox.stopPrometheus();
  timeline.log('Prometheus stopped (SIGTERM): its Service stays, connections are refused');
  await sleep(Math.max(0, quietCreated + IDLE_AFTER + MARGIN - Date.now()));
  const fourth = await round(sandbox, installed, timeline, 'activity-3');
  t.like(fourth.report, { due: 0, published: 0, queryCalls: 1 });
  t.regex(String(fourth.report.traffic), /^unreachable: cannot reach Prometheus/);
  const unavailable = fourth.lines.find(
    (l) => l.msg === 'traffic source unavailable: nothing is put to sleep this round',
  );
  t.like(unavailable, { reason: 'unreachable', level: 50 });
  t.regex(reason(fourth, NS.quiet), /^traffic unknown this round: unreachable/);
  t.true(
    Number((fourth.report.skipped as { unknown: number }).unknown) >= 3,
    `${NS.busy}, ${NS.labelled}, ${NS.quiet} skipped as unknown`,
  );
  await sleep(3_000);
  t.is(await replicasOf(NS.quiet), 1, `${NS.quiet} stays awake`);

  t.deepEqual(traffic.failures, [], 'every request through the gateway was answered by the app');
  timeline.log(
    `figures: idle-after ${IDLE_AFTER / 1000}s; ${NS.busy} still awake ${busyLongest.toFixed(0)}s after creation with requests every ${REQUEST_EVERY / 1000}s; ` +
      `${NS.stops} asleep ${sleptAfter.toFixed(0)}s after its last request; Prometheus down: "${String(fourth.report.traffic)}"`,
  );
  failed = false;
});

/** The reason the round's log gives for not putting the namespace's web Deployment to sleep. */
function reason(run: PublisherRun, namespace: string): string {
  const line = run.lines.find(
    (l) => l.msg === 'skipped' && l.namespace === namespace && l.workload === 'Deployment/web',
  );
  return typeof line?.reason === 'string' ? line.reason : `(not skipped in ${run.job})`;
}

async function round(
  sandbox: Sandbox,
  installed: Installed,
  timeline: Timeline,
  job: string,
): Promise<PublisherRun> {
  const run = await runPublisherJob(sandbox, installed, job);
  const r = run.report;
  timeline.log(
    `kubectl create job --from=cronjob/nozzle-publisher ${job}: due ${String(r.due)}, traffic ${String(r.traffic)}`,
  );
  for (const l of run.lines.filter((l) => l.msg === 'skipped' && String(l.namespace).startsWith('act-'))) {
    timeline.log(`  ${String(l.namespace)}: ${String(l.reason)}`);
  }
  return run;
}

/** One web Deployment (1 replica requesting 100m and 64Mi) behind an Ingress for `<ns>.activity.test`. */
function app(namespace: string, optedIn: boolean): KubernetesObject[] {
  const labels = { app: 'web' };
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        ...(optedIn ? { labels: { nozzle: 'true' } } : {}),
        annotations: { [annotations.idleAfter]: `${IDLE_AFTER / 1000}s` },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nozzle.test/echo:1',
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
                resources: { requests: { cpu: '100m', memory: '64Mi' } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', namespace },
      spec: {
        rules: [
          {
            host: `${namespace}.activity.test`,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
  ] as KubernetesObject[];
}

async function waitReady(installed: Installed, namespaces: readonly string[]): Promise<void> {
  await waitFor(`web Ready in ${namespaces.join(', ')}`, 120_000, async () => {
    const all = await Promise.all(
      namespaces.map((namespace) => installed.kube.apps.readNamespacedDeployment({ name: 'web', namespace })),
    );
    return all.every((d) => d.status?.readyReplicas === 1);
  });
}

/** A GET through the gateway every REQUEST_EVERY per namespace, as a person clicking through would. */
class Traffic {
  readonly #loops = new Map<string, AbortController>();
  readonly #last = new Map<string, number>();
  readonly failures: string[] = [];

  constructor(private readonly sandbox: Sandbox) {}

  start(namespace: string): void {
    const stop = new AbortController();
    this.#loops.set(namespace, stop);
    void (async () => {
      while (!stop.signal.aborted) {
        try {
          const answer = await viaGateway(this.sandbox, `${namespace}.activity.test`, {
            accept: 'application/json',
          });
          if (answer.status !== 200) this.failures.push(`${namespace}: ${answer.status}`);
        } catch (err) {
          if (!stop.signal.aborted) this.failures.push(`${namespace}: ${String(err)}`);
        }
        this.#last.set(namespace, Date.now());
        await sleep(REQUEST_EVERY, undefined, { signal: stop.signal }).catch(() => {});
      }
    })();
  }

  stop(namespace: string): void {
    this.#loops.get(namespace)?.abort();
  }

  stopAll(): void {
    for (const stop of this.#loops.values()) stop.abort();
  }

  last(namespace: string): number {
    return this.#last.get(namespace) ?? 0;
  }

  ago(namespace: string): string {
    return `${((Date.now() - this.last(namespace)) / 1000).toFixed(1)}s`;
  }
}
