/**
 * NATS as a 3-server JetStream cluster on the sandbox cluster, installed the
 * way a user would (`kubectl apply -k examples/nats-cluster/`, which adds
 * k8s/components/nats-cluster): NOZZLE and NOZZLE_DLQ with 3 replicas; a
 * publisher round queues the app's sleeps and, with them in the stream, the
 * NATS pod that leads NOZZLE is force-deleted. Every sleep is still carried
 * out (the app ends asleep, nothing dead-lettered, NOZZLE empty), the
 * StatefulSet brings the pod back and it rejoins NOZZLE as a current
 * replica, and a request through the gateway wakes the app. How long NOZZLE
 * and its consumer had no leader is measured from the surviving servers'
 * /jsz and logged (test-results/e2e-nats-cluster-timeline.txt).
 */
import anyTest, { type TestFn } from 'ava';
import { fileURLToPath } from 'node:url';
import { BatchV1Api } from '@kubernetes/client-node';
import { Sandbox } from '../../scripts/testenv/sandbox/sandbox.js';
import { Timeline } from '../../scripts/e2e/timeline.js';
import {
  APP_NAMESPACE,
  appAsleep,
  podOf,
  setUp,
  startPublisherRound,
  waitFor,
  wakeThroughTheGateway,
  type Scenario,
} from '../../scripts/e2e/scenario.js';
import { jetstream as names } from '../../lib/names.js';

interface Context {
  sandbox: Sandbox;
  scenario: Scenario;
  timeline: Timeline;
}
const test = anyTest as TestFn<Context>;
const timelineFile = fileURLToPath(
  new URL('../../../test-results/e2e-nats-cluster-timeline.txt', import.meta.url),
);
const SYSTEM = 'nozzle-system';
const PODS = ['nats-0', 'nats-1', 'nats-2'];
let failed = false;

test.before(async (t) => {
  t.timeout(6 * 60_000);
  const timeline = new Timeline(timelineFile, (line) => t.log(line));
  const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
  t.context.sandbox = sandbox;
  t.context.timeline = timeline;
  timeline.mark('start');
  t.context.scenario = await setUp(sandbox, timeline, {
    scheduledRounds: false,
    bulk: false,
    install: { kustomization: 'examples/nats-cluster/', natsReplicas: 3 },
  });
});

test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});

test.after.always(async (t) => {
  await t.context.scenario?.stop();
  await t.context.sandbox?.stop({ keepLogs: failed });
  if (failed && t.context.sandbox) console.error(`sandbox logs kept in ${t.context.sandbox.dir}`);
});

/** What a server's /jsz says of one stream (nats-server's monitoring JSON, the fields used here). */
interface StreamDetail {
  name: string;
  config?: { num_replicas?: number };
  state: { messages: number; last_seq: number };
  cluster?: { leader?: string; replicas?: { name: string; current: boolean; offline?: boolean }[] };
  consumer_detail?: { name: string; cluster?: { leader?: string } }[];
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: { stream_detail?: StreamDetail[] }[];
}

/** One server's /jsz with every stream and consumer, read on its pod's own name as a pod would. */
async function jsz(sandbox: Sandbox, pod: string): Promise<Jsz> {
  const answer = await sandbox.get(
    `http://${pod}.nats-headless.${SYSTEM}.svc.cluster.local:8222/jsz?accounts=true&streams=true&consumers=true&config=true`,
  );
  if (answer.status !== 200) throw new Error(`${pod} /jsz: ${answer.status}`);
  return JSON.parse(answer.body) as Jsz;
}

function streamOf(view: Jsz, name: string): StreamDetail | undefined {
  return view.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === name);
}

/** NOZZLE as the first of `pods` that answers sees it. */
async function stream(sandbox: Sandbox, name: string, pods = PODS): Promise<StreamDetail> {
  let last: unknown;
  for (const pod of pods) {
    try {
      const found = streamOf(await jsz(sandbox, pod), name);
      if (found) return found;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`no server of ${pods.join(', ')} reports stream ${name}`, { cause: last });
}

test.serial(
  'a 3-server NATS cluster: the NOZZLE leader force-deleted while the sleeps are queued; every sleep done, the pod rejoins, the app wakes',
  async (t) => {
    t.timeout(4 * 60_000);
    const { scenario, sandbox, timeline } = t.context;

    // The cluster formed and both streams are replicated on all three servers.
    const meta = await jsz(sandbox, 'nats-0');
    t.is(meta.meta_cluster?.cluster_size, 3, 'three servers in the JetStream meta group');
    for (const name of [names.stream, names.deadLetterStream]) {
      const s = await stream(sandbox, name);
      t.is(s.config?.num_replicas, 3, `${name} replicas`);
      t.is(s.cluster?.replicas?.length, 2, `${name}: a leader and two replicas`);
    }
    timeline.log(
      `cluster formed: meta leader ${meta.meta_cluster?.leader}; NOZZLE and NOZZLE_DLQ with 3 replicas`,
    );

    // A publisher round; once it has queued the app's sleeps, its leader goes.
    await startPublisherRound(scenario, timeline);
    const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
    await waitFor(
      'the publisher round to queue the three sleeps (NOZZLE last sequence 3)',
      60_000,
      async () => {
        if ((await stream(sandbox, names.stream)).state.last_seq >= 3) return true;
        const job = await batch.readNamespacedJob({ name: 'nozzle-publisher-e2e', namespace: SYSTEM });
        if ((job.status?.failed ?? 0) > 0) throw new Error('the publisher Job failed');
        return (job.status?.succeeded ?? 0) >= 1;
      },
    );
    const before = await stream(sandbox, names.stream);
    const leader = before.cluster?.leader;
    if (!leader || !PODS.includes(leader))
      return t.fail(`NOZZLE has no leader among ${PODS.join(', ')}: ${leader}`);
    const consumerLeader = before.consumer_detail?.find((c) => c.name === names.consumer)?.cluster?.leader;
    const survivors = PODS.filter((p) => p !== leader);
    const killedAt = Date.now();
    await scenario.kubectl(['-n', SYSTEM, 'delete', 'pod', leader, '--grace-period=0', '--force']);
    timeline.mark('nats-killed');
    timeline.log(
      `kubectl delete pod ${leader} --grace-period=0 --force: NOZZLE's leader (consumer leader ${consumerLeader}), ` +
        `${before.state.messages} of ${before.state.last_seq} messages still queued, worker replicas ${scenario.workerReplicas.at(-1)}`,
    );

    // How long NOZZLE and nozzle-worker had no leader, as the survivors see it.
    let streamBack: number | undefined;
    let consumerBack: number | undefined;
    await waitFor('a new NOZZLE leader and consumer leader among the surviving servers', 60_000, async () => {
      const s = await stream(sandbox, names.stream, survivors);
      const now = Date.now();
      const streamLeader = s.cluster?.leader;
      if (streamBack === undefined && streamLeader && streamLeader !== leader) streamBack = now;
      const c = s.consumer_detail?.find((x) => x.name === names.consumer)?.cluster?.leader;
      if (consumerBack === undefined && c && (c !== leader || consumerLeader !== leader)) consumerBack = now;
      return streamBack !== undefined && consumerBack !== undefined;
    });
    const streamGap = ((streamBack ?? 0) - killedAt) / 1000;
    const consumerGap = ((consumerBack ?? 0) - killedAt) / 1000;
    const after = await stream(sandbox, names.stream, survivors);
    timeline.log(
      `NOZZLE without a leader for at most ${streamGap.toFixed(1)}s (new leader ${after.cluster?.leader}); ` +
        `nozzle-worker consumer for at most ${consumerGap.toFixed(1)}s (polled every ~250ms from the kill)`,
    );
    t.not(after.cluster?.leader, leader);

    // Every queued sleep carried out.
    await waitFor(`${APP_NAMESPACE} asleep after the NATS pod's deletion`, 120_000, () =>
      appAsleep(scenario.kube),
    );
    timeline.mark('asleep');
    timeline.log(
      `${APP_NAMESPACE} asleep: web, api, tcp at 0 (${timeline.between('nats-killed', 'asleep').toFixed(1)}s after the kill)`,
    );
    await waitFor(
      'NOZZLE drained',
      30_000,
      async () => (await stream(sandbox, names.stream)).state.messages === 0,
    );
    t.is((await stream(sandbox, names.deadLetterStream)).state.messages, 0, 'nothing dead-lettered');

    // The pod comes back with its volume and catches up: three current replicas again.
    await waitFor(`${leader} back and current in NOZZLE and NOZZLE_DLQ`, 90_000, async () => {
      const sts = await scenario.kube.apps.readNamespacedStatefulSet({ name: 'nats', namespace: SYSTEM });
      if (sts.status?.readyReplicas !== 3) return false;
      for (const name of [names.stream, names.deadLetterStream]) {
        const s = await stream(sandbox, name, [leader]);
        const members = [
          s.cluster?.leader,
          ...(s.cluster?.replicas ?? []).filter((r) => r.current && !r.offline).map((r) => r.name),
        ];
        if (s.config?.num_replicas !== 3 || !PODS.every((p) => members.includes(p))) return false;
      }
      return true;
    });
    timeline.mark('rejoined');
    timeline.log(
      `${leader} Ready again and a current replica of NOZZLE and NOZZLE_DLQ (${timeline.between('nats-killed', 'rejoined').toFixed(1)}s after the kill)`,
    );
    t.is((await jsz(sandbox, leader)).meta_cluster?.cluster_size, 3);

    // And the app wakes through the gateway as ever.
    const { page, api } = await wakeThroughTheGateway(scenario, timeline);
    t.is(page.status, 200);
    t.is(api.status, 200);
    t.regex(podOf(api), /^web-/);
  },
);
