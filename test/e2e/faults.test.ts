/**
 * The fault matrix of issue 11 ("Faults") on the sandbox cluster: for each
 * fault the app namespace is put to sleep as a person does (`nozzle sleep`),
 * the fault is injected with kubectl as its author would, and a user wakes
 * it through the gateway or a ClusterIP. Each fault reports
 * replica counts lost (after the wake, against web 2, api 1, tcp 1 or what
 * the fault legitimately set), workloads stranded at 0 without a wake path
 * (polled all through the fault) and the outage in seconds (first request
 * to the first 200 from the app's own pod); the table goes to
 * test-results/faults.md (figures: docs/reliability.md, "Faults"). One sandbox
 * for the file, without the bulk
 * namespace; every wait is bounded.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { mergePatch } from '../../lib/kube/patch.js';
import { ACTIVATOR_HEADER } from '../../activator/responses.js';
import { Sandbox } from '../../scripts/testenv/sandbox/sandbox.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { Timeline } from '../../scripts/e2e/timeline.js';
import {
  APP_NAMESPACE,
  INGRESS_HOST,
  ROUTE_HOST,
  setUp,
  viaGateway,
  waitFor,
  type Scenario,
} from '../../scripts/e2e/scenario.js';
import {
  activatorPods,
  sleepNow,
  takeoverAddresses,
  takeoverSlicesIn,
  waitAsleep,
} from '../../scripts/e2e/takeover.js';
import { runPublisherJob } from '../../scripts/e2e/publisher-job.js';
import {
  APP_REPLICAS,
  appWorkloads,
  faultTable,
  lostReplicas,
  settleAwake,
  summarize,
  untilTheAppAnswers,
  watchStranded,
  type AppWorkload,
  type FaultRow,
  type Outage,
  type Replicas,
} from '../../scripts/e2e/fault-figures.js';

interface Context {
  sandbox: Sandbox;
  scenario: Scenario;
  timeline: Timeline;
  /** A directory for the manifests kubectl applies. */
  dir: string;
}
const test = anyTest as TestFn<Context>;
const results = fileURLToPath(new URL('../../../test-results/', import.meta.url));
const appYaml = fileURLToPath(new URL('../../../scripts/e2e/app.yaml', import.meta.url));
const SYSTEM = 'nozzle-system';
/** A wake that takes longer than this is an outage the test fails on (a cold start is 3 s). */
const OUTAGE_BOUND_S = 30;
/** How long a user retries before the fault counts as an outage without end. */
const WAKE_TIMEOUT_MS = 60_000;
/** The convergence wakes a lost wake path (faults 3 and 9) within a resync (NOZZLE_CONVERGENCE_RESYNC, 10 s here), plus a cold start. */
const WAKE_PATH_BOUND_MS = 30_000;
/** The 409 storm: this many writers, each patching web this often. */
const STORM_WRITERS = 20;
const STORM_EVERY_MS = 500;
const rows: FaultRow[] = [];
let failed = false;

test.before(async (t) => {
  t.timeout(6 * 60_000);
  const timeline = new Timeline(join(results, 'e2e-faults-timeline.txt'), (line) => t.log(line));
  const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
  t.context.sandbox = sandbox;
  t.context.timeline = timeline;
  t.context.dir = mkdtempSync(join(tmpdir(), 'nozzle-faults-'));
  timeline.mark('start');
  const scenario = await setUp(sandbox, timeline, { scheduledRounds: false, bulk: false });
  t.context.scenario = scenario;
  // A short settle (fault 4: a self-heal finished by the convergence) and a
  // short resync (faults 3 and 9), applied by restarting the activator.
  await scenario.kubectl([
    '-n',
    SYSTEM,
    'patch',
    'configmap',
    'nozzle-config',
    '--type=merge',
    '-p',
    '{"data":{"NOZZLE_TAKEOVER_SETTLE":"5s","NOZZLE_CONVERGENCE_RESYNC":"10s"}}',
  ]);
  await restartActivators(scenario);
  timeline.log('NOZZLE_TAKEOVER_SETTLE 5s, NOZZLE_CONVERGENCE_RESYNC 10s; activators restarted');
});

test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});

test.after.always(async (t) => {
  if (rows.length > 0) {
    const table = faultTable(rows);
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'faults.md'), `${table}\n`);
    t.log(`\n${table}`);
  }
  await t.context.scenario?.stop();
  await t.context.sandbox?.stop({ keepLogs: failed });
  if (failed && t.context.sandbox) console.error(`sandbox logs kept in ${t.context.sandbox.dir}`);
});

async function restartActivators(scenario: Scenario): Promise<void> {
  await scenario.kubectl(['-n', SYSTEM, 'rollout', 'restart', 'deployment/nozzle-activator']);
  await scenario.kubectl([
    '-n',
    SYSTEM,
    'rollout',
    'status',
    'deployment/nozzle-activator',
    '--timeout=120s',
  ]);
  await twoActivators(scenario);
}

/** Two ready activator pods and no other (a replaced one gone). */
async function twoActivators(scenario: Scenario): Promise<void> {
  await waitFor('two ready activator pods and no other', 120_000, async () => {
    const { items } = await scenario.kube.core.listNamespacedPod({
      namespace: SYSTEM,
      labelSelector: 'app.kubernetes.io/name=nozzle-activator',
    });
    return items.length === 2 && (await activatorPods(scenario.kube)).length === 2;
  });
}

/** One object of scripts/e2e/app.yaml, edited by `edit`, written as JSON for `kubectl apply -f`. */
function manifest(
  dir: string,
  kind: string,
  name: string,
  edit?: (o: KubernetesObject & { spec?: { replicas?: number } }) => void,
): string {
  const object = parseManifests(readFileSync(appYaml, 'utf8')).find(
    (o) => o.kind === kind && o.metadata?.name === name,
  );
  if (object === undefined) throw new Error(`no ${kind}/${name} in ${appYaml}`);
  const copy = structuredClone(object);
  edit?.(copy);
  const file = join(dir, `${kind}-${name}-${rows.length}.json`);
  writeFileSync(file, JSON.stringify(copy));
  return file;
}

const kubectlApp = (scenario: Scenario, ...args: string[]): Promise<string> =>
  scenario.kubectl(['-n', APP_NAMESPACE, ...args]);

/** A user of the Ingress host (an API client) retrying until the web app answers. */
const byIngress = (c: Context, timeoutMs = WAKE_TIMEOUT_MS): Promise<Outage> =>
  untilTheAppAnswers(
    `through the Ingress host ${INGRESS_HOST}`,
    () => viaGateway(c.sandbox, INGRESS_HOST, { accept: 'application/json' }),
    /^web-/,
    timeoutMs,
  );

/** A user of the HTTPRoute host retrying until the api app answers. */
const byRoute = (c: Context, timeoutMs = WAKE_TIMEOUT_MS): Promise<Outage> =>
  untilTheAppAnswers(
    `through the HTTPRoute host ${ROUTE_HOST}`,
    () => viaGateway(c.sandbox, ROUTE_HOST, { accept: 'application/json' }),
    /^api-/,
    timeoutMs,
  );

/** A pod dialing a port of the Service web's ClusterIP, retrying until the web app answers. */
async function byClusterIp(c: Context, port: number, timeoutMs = WAKE_TIMEOUT_MS): Promise<Outage> {
  const service = await c.scenario.kube.core.readNamespacedService({ name: 'web', namespace: APP_NAMESPACE });
  const url = `http://${service.spec?.clusterIP}:${port}/`;
  return untilTheAppAnswers(
    `from a pod at ${url}`,
    () => c.sandbox.get(url, { accept: 'application/json' }),
    /^web-/,
    timeoutMs,
  );
}

/**
 * Whatever a failed fault left at 0 is scaled back by hand (from its backup,
 * else what the app runs), and the namespace is awake before the next fault.
 */
async function recoverByHand(scenario: Scenario): Promise<void> {
  const now = await appWorkloads(scenario.kube);
  for (const w of Object.keys(APP_REPLICAS) as AppWorkload[]) {
    const state = now[w];
    if (state === undefined || state.replicas !== 0) continue;
    const replicas = Number(state.backup ?? APP_REPLICAS[w]);
    await kubectlApp(
      scenario,
      'patch',
      w === 'tcp' ? 'statefulset' : 'deployment',
      w,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { annotations: { 'nozzle.io/replicas': null } }, spec: { replicas } }),
    );
  }
  const settled = await settleAwake(scenario.kube, APP_REPLICAS, 90_000);
  if (!settled.settled) throw new Error(`recovering by hand: not awake after 90 s: ${settled.last}`);
}

interface Fault {
  readonly fault: string;
  /** Puts the namespace to sleep (default: `nozzle sleep`, as a person would); notes. */
  readonly sleep?: (c: Context) => Promise<string | void>;
  /** Injects the fault into the sleeping namespace; notes. */
  readonly inject: (c: Context) => Promise<string | void>;
  /** Wakes it as a user would: the outage, and a note. */
  readonly wake: (c: Context) => Promise<Outage & { readonly note?: string }>;
  /** Replicas after the wake, when the fault legitimately set others. */
  readonly want?: Replicas;
  /** The outage the test fails beyond (OUTAGE_BOUND_S unless the fault says otherwise). */
  readonly outageBoundS?: number;
  /** How long a workload may be at 0 without a wake path before it counts as stranded (0: never). */
  readonly strandedAllowedMs?: number;
  /** Puts back what the fault changed, after the figures. */
  readonly restore?: (c: Context) => Promise<void>;
  /** Checks of its own on the awake namespace (run before restore). */
  readonly check?: (t: ExecutionContext<Context>) => Promise<void>;
}

async function runFault(t: ExecutionContext<Context>, fault: Fault): Promise<void> {
  t.timeout(3 * 60_000);
  const c = t.context;
  const { scenario, timeline } = c;
  const want = fault.want ?? APP_REPLICAS;
  const allowedMs = fault.strandedAllowedMs ?? 0;
  const awake = await settleAwake(scenario.kube, APP_REPLICAS, 60_000);
  if (!awake.settled)
    throw new Error(`before the fault, the app is not awake at web 2, api 1, tcp 1: ${awake.last}`);
  const stranded = watchStranded(scenario.kube);
  const notes: string[] = [];
  let outage: Outage | undefined;
  let error: Error | undefined;
  try {
    notes.push((await (fault.sleep ?? sleepByPerson)(c)) || '');
    notes.push((await fault.inject(c)) || '');
    const woken = await fault.wake(c);
    outage = woken;
    notes.push(woken.note ?? '');
    if (outage.before.length > 0) notes.push(`answers before the 200: ${summarize(outage.before)}`);
  } catch (err) {
    error = err as Error;
    notes.push(`failed: ${error.message}`);
  }
  const settled = await settleAwake(scenario.kube, want, error === undefined ? 60_000 : 5_000);
  if (!settled.settled) notes.push(`not settled awake after ${settled.seconds} s: ${settled.last}`);
  const report = await stranded.stop();
  const lost = lostReplicas(await appWorkloads(scenario.kube), want);
  const windows = Object.entries(report.longestMs).map(
    ([w, ms]) => `${w} at 0 without a wake path for ${(ms / 1000).toFixed(1)} s`,
  );
  const strandedOver = Object.entries(report.longestMs)
    .filter(([, ms]) => ms > allowedMs)
    .map(([w]) => w);
  notes.push(...windows);
  if (lost.length > 0) notes.push(`lost: ${lost.join(', ')}`);
  const row: FaultRow = {
    fault: fault.fault,
    lost: lost.length,
    stranded: strandedOver.length,
    outage: outage === undefined ? 'no 200' : outage.seconds.toFixed(1),
    notes: [...notes.filter((n) => n !== ''), `${report.checks} stranded checks`].join('; '),
  };
  rows.push(row);
  timeline.log(
    `${row.fault}: lost ${row.lost}, stranded ${row.stranded}, outage ${row.outage} s; ${row.notes}`,
  );
  try {
    if (error === undefined) await fault.check?.(t);
  } finally {
    await fault.restore?.(c);
    if (!settled.settled) await recoverByHand(scenario);
  }
  if (error !== undefined) t.fail(error.message);
  t.deepEqual(lost, [], 'replica counts lost');
  t.deepEqual(strandedOver, [], `stranded at 0 without a wake path for more than ${allowedMs / 1000} s`);
  t.true(settled.settled, `awake again: ${settled.last}`);
  const bound = fault.outageBoundS ?? OUTAGE_BOUND_S;
  if (outage !== undefined)
    t.true(outage.seconds <= bound, `outage ${outage.seconds.toFixed(1)} s (bound ${bound} s)`);
}

async function sleepByPerson(c: Context): Promise<void> {
  await sleepNow(c.scenario);
}

test.serial('1a. Service web edited while asleep: an annotation and a label added', (t) =>
  runFault(t, {
    fault: 'Service web edited while asleep (annotation, label)',
    inject: async ({ scenario }) => {
      await kubectlApp(scenario, 'annotate', 'service', 'web', 'faults.e2e.test/edited=yes');
      await kubectlApp(scenario, 'label', 'service', 'web', 'faults-e2e=edited');
    },
    wake: (c) => byIngress(c),
    restore: async ({ scenario }) => {
      await kubectlApp(scenario, 'annotate', 'service', 'web', 'faults.e2e.test/edited-');
      await kubectlApp(scenario, 'label', 'service', 'web', 'faults-e2e-');
    },
  }),
);

/** Adds the port 8080 (name alt) to the Service web; `removeSecondPort` takes it away. */
const addSecondPort = (scenario: Scenario): Promise<string> =>
  kubectlApp(
    scenario,
    'patch',
    'service',
    'web',
    '--type=json',
    '-p',
    '[{"op":"add","path":"/spec/ports/-","value":{"name":"alt","port":8080,"targetPort":"http"}}]',
  );
const removeSecondPort = (scenario: Scenario): Promise<string> =>
  kubectlApp(
    scenario,
    'patch',
    'service',
    'web',
    '--type=json',
    '-p',
    '[{"op":"remove","path":"/spec/ports/1"}]',
  );

test.serial(
  '1b. Service web given a second port while asleep: the Ingress wakes it, both ports answer',
  (t) =>
    runFault(t, {
      fault: 'Service web given a second port (8080) while asleep; woken through the Ingress',
      inject: async ({ scenario }) => {
        await addSecondPort(scenario);
      },
      wake: (c) => byIngress(c),
      check: async (t) => {
        const added = await byClusterIp(t.context, 8080, 10_000);
        t.regex(added.pod, /^web-/, 'the added port answers once awake');
      },
      restore: async ({ scenario }) => {
        await removeSecondPort(scenario);
      },
    }),
);

// The takeover slice keeps the ports the Service had when it went to sleep:
// a port added while asleep has no endpoint in any slice, so its clients are
// refused until the convergence's lost-wake-path step (it compares the
// Service's ports with its takeover slices') wakes the namespace, within a
// resync (activator/convergence/wake-paths.ts).
test.serial(
  '1c. Service web given a second port while asleep: the convergence wakes it within a resync, so a client of the new port gets the app',
  (t) =>
    runFault(t, {
      fault: 'Service web given a second port (8080) while asleep; woken through the new port',
      inject: async ({ scenario }) => {
        await addSecondPort(scenario);
      },
      wake: (c) => byClusterIp(c, 8080, WAKE_PATH_BOUND_MS),
      restore: async ({ scenario }) => {
        await removeSecondPort(scenario);
      },
    }),
);

test.serial('2a. Ingress deleted and re-applied while asleep', (t) =>
  runFault(t, {
    fault: 'Ingress web deleted and re-applied while asleep',
    inject: async ({ scenario, dir }) => {
      await kubectlApp(scenario, 'delete', 'ingress', 'web', '--wait=true');
      await kubectlApp(scenario, 'apply', '-f', manifest(dir, 'Ingress', 'web'));
    },
    wake: (c) => byIngress(c),
  }),
);

test.serial('2b. HTTPRoute re-applied while asleep', (t) =>
  runFault(t, {
    fault: 'HTTPRoute api re-applied (same manifest) while asleep',
    inject: async ({ scenario, dir }) => {
      await kubectlApp(scenario, 'apply', '-f', manifest(dir, 'HTTPRoute', 'api'));
    },
    wake: (c) => byRoute(c),
  }),
);

/** The uids of Nozzle's takeover slices of `service` now. */
async function takeoverUids(scenario: Scenario, service: string): Promise<string[]> {
  return (await takeoverSlicesIn(scenario.kube))
    .filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === service)
    .map((s) => s.metadata?.uid ?? '');
}

test.serial(
  '3. Service web deleted and re-applied while asleep: the convergence wakes it within a resync, with a Woke Event',
  (t) => {
    let since = new Date();
    return runFault(t, {
      fault: 'Service web deleted and re-applied while asleep',
      inject: async ({ scenario, sandbox, dir }) => {
        const old = await takeoverUids(scenario, 'web');
        since = new Date();
        await kubectlApp(scenario, 'delete', 'service', 'web', '--wait=true');
        await kubectlApp(scenario, 'apply', '-f', manifest(dir, 'Service', 'web'));
        // The old takeover slice (owned by the deleted Service) outlives it until the
        // garbage collector removes it, and Traefik keeps it a moment longer: a request
        // then still reaches the activator. A user arriving after that is the case to
        // measure: the gateway no longer routes web to the activator.
        const started = performance.now();
        await waitFor("the deleted Service's takeover slice collected", 30_000, async () => {
          const now = await takeoverUids(scenario, 'web');
          return old.every((uid) => !now.includes(uid));
        });
        const probe = { 'user-agent': 'kube-probe/1.35', accept: 'application/json' };
        await waitFor('the gateway to stop routing web to the activator', 30_000, async () => {
          const answer = await viaGateway(sandbox, INGRESS_HOST, probe);
          return answer.headers[ACTIVATOR_HEADER] !== '1';
        });
        return `the gateway stopped routing to the activator ${((performance.now() - started) / 1000).toFixed(1)} s after the re-apply`;
      },
      wake: (c) => byIngress(c, WAKE_PATH_BOUND_MS),
      strandedAllowedMs: WAKE_PATH_BOUND_MS,
      check: async (t) => {
        const { items } = await t.context.scenario.kube.core.listNamespacedEvent({
          namespace: APP_NAMESPACE,
        });
        const woke = items.filter(
          (e) =>
            e.reason === 'Woke' &&
            new Date(e.lastTimestamp ?? e.eventTime ?? 0) >= new Date(since.getTime() - 1_000),
        );
        // Woken by the convergence (the Event names the Service), or, when the
        // old takeover outlived the Service long enough for the user's first
        // request to reach the activator, by that request (a plain Woke).
        const byConvergence = woke.some((e) => /Service web\b.*no takeover/.test(e.message ?? ''));
        t.log(byConvergence ? 'woken by the convergence' : 'woken by the request, through the old takeover');
        t.true(woke.length >= 1, 'a Woke Event since the fault');
      },
    });
  },
);

test.serial(
  '4a. Deployment web re-applied without replicas while asleep: stays asleep, a request wakes it with its backup',
  (t) =>
    runFault(t, {
      fault: 'Deployment web re-applied without replicas while asleep',
      inject: async ({ scenario, dir }) => {
        await kubectlApp(
          scenario,
          'apply',
          '-f',
          manifest(dir, 'Deployment', 'web', (o) => delete o.spec?.replicas),
        );
        await sleep(2_000);
        const web = (await appWorkloads(scenario.kube)).web;
        if (web?.replicas !== 0 || web.backup !== '2')
          throw new Error(`after the apply, web is not asleep with its backup: ${JSON.stringify(web)}`);
        return 'still asleep after the apply (0, backup 2)';
      },
      wake: (c) => byIngress(c),
    }),
);

test.serial(
  '4b. Deployment web re-applied with replicas 2 while asleep (a self-heal): the convergence finishes the wake',
  (t) =>
    runFault(t, {
      fault: 'Deployment web re-applied with replicas: 2 while asleep (Argo CD-style self-heal)',
      inject: async ({ scenario, dir }) => {
        const applied = performance.now();
        await kubectlApp(scenario, 'apply', '-f', manifest(dir, 'Deployment', 'web'));
        await waitFor(
          'web running 2, its backup cleared and its takeover removed by the convergence',
          60_000,
          async () => {
            const [web, slices] = await Promise.all([
              appWorkloads(scenario.kube),
              takeoverSlicesIn(scenario.kube),
            ]);
            return (
              web.web?.ready === 2 && web.web.backup === undefined && takeoverAddresses(slices, 'web') === ''
            );
          },
        );
        return `web's wake finished by the convergence ${((performance.now() - applied) / 1000).toFixed(1)} s after the apply (settle 5 s)`;
      },
      // web answers at once; api and tcp still sleep until their own users come.
      wake: async (c) => {
        const web = await byIngress(c);
        await byRoute(c);
        return web;
      },
    }),
);

test.serial('5. Deployment api deleted and recreated from the manifest while asleep', (t) =>
  runFault(t, {
    fault: 'Deployment api deleted and recreated from the manifest while asleep',
    inject: async ({ scenario, dir }) => {
      await kubectlApp(scenario, 'delete', 'deployment', 'api', '--wait=true');
      await kubectlApp(scenario, 'apply', '-f', manifest(dir, 'Deployment', 'api'));
    },
    wake: (c) => byRoute(c),
  }),
);

test.serial('6. an activator pod SIGKILLed mid-wake: the other and the restarted one finish it', (t) =>
  runFault(t, {
    fault: 'an activator pod SIGKILLed mid-wake (grace 0, forced)',
    inject: () => Promise.resolve(),
    wake: async (c) => {
      // Four users at once: Traefik spreads them over both activator pods, so the killed one holds some.
      const victim = (await activatorPods(c.scenario.kube)).map((a) => a.name).sort()[0] ?? '';
      const users = Array.from({ length: 4 }, () => byIngress(c));
      await sleep(500);
      await c.scenario.kubectl(['-n', SYSTEM, 'delete', 'pod', victim, '--grace-period=0', '--force']);
      const outages = await Promise.all(users);
      const first = outages.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
      const worst = outages.reduce((a, b) => (a.seconds >= b.seconds ? a : b));
      return {
        ...worst,
        before: outages.flatMap((o) => o.before),
        note: `${victim} killed 0.5 s after 4 users' first requests; outage is the last user's, the first was answered after ${first.seconds.toFixed(1)} s`,
      };
    },
    restore: async ({ scenario }) => twoActivators(scenario),
  }),
);

test.serial('7. NATS restarted mid-stream: queued sleeps survive on its volume, nothing lost', (t) =>
  runFault(t, {
    fault: 'NATS pod nats-0 deleted with 3 sleeps queued, as the worker starts',
    sleep: async ({ scenario, sandbox }) => {
      // The namespace went idle: its last activity (the last wake, its new pods) is older than idle-after (5 s).
      await sleep(6_000);
      const scaled = ['-n', SYSTEM, 'annotate', 'scaledobject', 'nozzle-worker'];
      // KEDA holds the worker at 0 until the messages are in the stream, so the kill finds them there.
      await scenario.kubectl([...scaled, 'autoscaling.keda.sh/paused-replicas=0', '--overwrite']);
      // Every worker replica count from here on (KEDA may start it the moment it is unpaused).
      const seen = scenario.workerReplicas.length;
      let run;
      try {
        run = await runPublisherJob(sandbox, scenario, 'nozzle-publisher-faults');
      } finally {
        await scenario.kubectl([...scaled, 'autoscaling.keda.sh/paused-replicas-']);
      }
      const published = Number(run.report.published ?? 0);
      if (published < 3)
        throw new Error(`the publisher queued ${published} sleeps, not 3: ${JSON.stringify(run.report)}`);
      await waitFor('KEDA to start the worker', 60_000, () =>
        Promise.resolve(scenario.workerReplicas.slice(seen).some((r) => r >= 1)),
      );
      const before = await appWorkloads(scenario.kube);
      const asleep = Object.values(before).filter((w) => w?.replicas === 0).length;
      const killedAt = performance.now();
      await scenario.kubectl(['-n', SYSTEM, 'delete', 'pod', 'nats-0', '--wait=false']);
      await waitFor('nats-0 back and Ready', 120_000, async () => {
        const nats = await scenario.kube.apps.readNamespacedStatefulSet({ name: 'nats', namespace: SYSTEM });
        return nats.status?.readyReplicas === 1;
      });
      await waitAsleep(scenario.kube, `${APP_NAMESPACE} asleep after the NATS restart`);
      return (
        `published ${published}; worker started, ${asleep} of 3 asleep at the kill; ` +
        `all 3 asleep ${((performance.now() - killedAt) / 1000).toFixed(1)} s after it`
      );
    },
    inject: () => Promise.resolve(),
    wake: (c) => byIngress(c),
  }),
);

/** The writers' figures for the row, and what the test checks of them. */
const stormNote = (f: StormFigures | undefined): string =>
  `${STORM_WRITERS} writers patched web ${f?.writes} times (${f?.perSecond.toFixed(0)}/s), ${f?.failures} refused`;

function checkStorm(t: ExecutionContext<Context>, f: StormFigures | undefined): Promise<void> {
  t.true((f?.writes ?? 0) > 0, 'the writers wrote');
  t.is(f?.failures, 0, 'no writer was refused');
  return Promise.resolve();
}

/** The writers stopped and their annotations removed. */
async function endStorm(scenario: Scenario, storm: Storm | undefined): Promise<void> {
  await storm?.stop();
  const cleared = Object.fromEntries(
    Array.from({ length: STORM_WRITERS }, (_, i) => [`faults.e2e.test/writer-${i}`, null]),
  );
  await kubectlApp(
    scenario,
    'patch',
    'deployment',
    'web',
    '--type=merge',
    '-p',
    JSON.stringify({ metadata: { annotations: cleared } }),
  );
}

test.serial('8a. a 409 storm through a wake: the activator restores web while 20 writers patch it', (t) => {
  let storm: Storm | undefined;
  let figures: StormFigures | undefined;
  return runFault(t, {
    fault: `a 409 storm on Deployment web (${STORM_WRITERS} writers patching it every ${STORM_EVERY_MS / 1000} s) through a wake`,
    inject: async ({ scenario }) => {
      storm = startStorm(scenario, STORM_WRITERS, STORM_EVERY_MS);
      await sleep(1_000);
    },
    wake: async (c) => {
      const outage = await byIngress(c);
      figures = await storm?.stop();
      return { ...outage, note: stormNote(figures) };
    },
    // The restore's conditional write loses to the writers again and again (5 conflicts, then a retry with backoff).
    outageBoundS: 60,
    check: (t) => checkStorm(t, figures),
    restore: ({ scenario }) => endStorm(scenario, storm),
  });
});

// Not asserted: that `nozzle sleep` succeeds under the storm (on this machine it
// fails 0 to all of 3 runs: 5 immediate conflict retries, then "cannot reach the
// apiserver"; reported to the lead). Asserted: whatever it leaves, nothing is lost
// or stranded, and the wake brings every workload back.
test.serial(
  '8b. a 409 storm through a person’s nozzle sleep: a failed run leaves nothing lost or stranded',
  (t) => {
    let storm: Storm | undefined;
    let figures: StormFigures | undefined;
    return runFault(t, {
      fault: `a 409 storm on Deployment web (${STORM_WRITERS} writers patching it every ${STORM_EVERY_MS / 1000} s) through a person's nozzle sleep`,
      sleep: async ({ scenario }) => {
        storm = startStorm(scenario, STORM_WRITERS, STORM_EVERY_MS);
        await sleep(1_000);
        const note = await personSleeps(scenario, 3);
        figures = await storm.stop();
        return note;
      },
      inject: () => Promise.resolve(),
      // Whatever slept (api first, then web, then tcp) wakes through the HTTPRoute; web answers through the Ingress.
      wake: async (c) => {
        const outage = await byRoute(c);
        await byIngress(c);
        return { ...outage, note: stormNote(figures) };
      },
      check: (t) => checkStorm(t, figures),
      restore: ({ scenario }) => endStorm(scenario, storm),
    });
  },
);

/**
 * A person running `nozzle sleep` until it works, at most `runs` times
 * (under the storm a run can exhaust its conflict retries): what happened.
 */
async function personSleeps(scenario: Scenario, runs: number): Promise<string> {
  const failures: string[] = [];
  for (let run = 1; run <= runs; run += 1) {
    try {
      await sleepNow(scenario);
      return `nozzle sleep worked at run ${run} of at most ${runs}${failures.length > 0 ? ` (before: ${summarize(failures)})` : ''}`;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? (err as Error).message;
      failures.push(
        stderr
          .split('\n')[0]
          ?.replace(/https:\/\/[^:]+:\d+/, 'APISERVER')
          .slice(0, 120) ?? '',
      );
    }
  }
  const now = await appWorkloads(scenario.kube);
  const state = Object.entries(now)
    .map(([w, s]) => `${w} ${s?.replicas ?? '-'} backup ${s?.backup ?? '-'}`)
    .join(', ');
  return `nozzle sleep failed all ${runs} runs (${summarize(failures)}), leaving ${state}`;
}

interface StormFigures {
  readonly writes: number;
  /** Patches refused (none expected: a merge patch without a resourceVersion never conflicts). */
  readonly failures: number;
  readonly perSecond: number;
}
interface Storm {
  /** Stops the writers (idempotent) and says what they did. */
  stop(): Promise<StormFigures>;
}

/**
 * `writers` loops, each merge-patching an annotation of its own on web every
 * `everyMs` (no resourceVersion: the writers never conflict, but every patch
 * moves web's resourceVersion, so Nozzle's conditional writes meet 409s).
 */
function startStorm(scenario: Scenario, writers: number, everyMs: number): Storm {
  let stopped = false;
  let writes = 0;
  let failures = 0;
  const started = performance.now();
  const loops = Array.from({ length: writers }, async (_, i) => {
    for (let n = 0; !stopped; n += 1) {
      const body = { metadata: { annotations: { [`faults.e2e.test/writer-${i}`]: String(n) } } };
      try {
        await scenario.kube.apps.patchNamespacedDeployment(
          { name: 'web', namespace: APP_NAMESPACE, body, fieldManager: `faults-e2e-writer-${i}` },
          mergePatch,
        );
        writes += 1;
      } catch {
        failures += 1;
      }
      await sleep(everyMs);
    }
  });
  let done: Promise<StormFigures> | undefined;
  return {
    stop() {
      stopped = true;
      const seconds = (performance.now() - started) / 1000;
      done ??= Promise.all(loops).then(() => ({ writes, failures, perSecond: writes / seconds }));
      return done;
    },
  };
}

test.serial(
  '9. the namespace opting out (label nozzle removed) while asleep: the convergence wakes it within a resync',
  (t) =>
    runFault(t, {
      fault: 'the namespace opting out (label nozzle removed) while asleep',
      inject: async ({ scenario }) => {
        await scenario.kubectl(['label', 'namespace', APP_NAMESPACE, 'nozzle-']);
      },
      wake: (c) => byIngress(c, WAKE_PATH_BOUND_MS),
      restore: async ({ scenario }) => {
        await scenario.kubectl(['label', 'namespace', APP_NAMESPACE, 'nozzle=true', '--overwrite']);
      },
    }),
);
