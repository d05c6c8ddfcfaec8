/**
 * One publisher round at scale, against the real kube-apiserver and a real
 * nats-server of scripts/testenv: N opted-in namespaces with W workloads
 * each (a sleep schedule on some, a wake schedule on others), then rounds
 * timed end to end (lists, policy, publishing) with their list calls
 * counted. The traffic source is left unset: the query is one call per round
 * whatever N (report.queryCalls), measured on a real Prometheus separately.
 *
 *   scripts/node24 npm run build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/publisher-round.js \
 *     [--namespaces 1000] [--per-namespace 10] [--rounds 3] [--page-size 500]
 */
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import type { Kube } from '../lib/kube/client.js';
import { publishRound } from '../publisher/round.js';
import { benchQueue } from './queue.js';

const arg = (name: string, fallback: string): number => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? (process.argv[i + 1] ?? fallback) : fallback);
};

const namespaces = arg('namespaces', '1000');
const perNamespace = arg('per-namespace', '10');
const rounds = arg('rounds', '3');
const pageSize = arg('page-size', '500');

async function inParallel(count: number, width: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

async function createLandscape(kube: Kube, label: string): Promise<void> {
  const started = performance.now();
  await inParallel(namespaces, 16, async (n) => {
    const namespace = `${label}-${n}`;
    const annotations: Record<string, string> =
      n % 3 === 0
        ? { 'nozzle.io/sleep-schedule': '0 20 * * MON-FRI', 'nozzle.io/timezone': 'Europe/Paris' }
        : n % 3 === 1
          ? { 'nozzle.io/wake-schedule': '30 7 * * MON-FRI', 'nozzle.io/timezone': 'America/New_York' }
          : { 'nozzle.io/idle-after': '1h' };
    await kube.core.createNamespace({
      body: { metadata: { name: namespace, labels: { [label]: 'true' }, annotations } },
    });
    for (let w = 0; w < perNamespace; w++) {
      const name = `app-${w}`;
      const spec = {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image: 'app' }] },
        },
      };
      if (w % 5 === 4) {
        await kube.apps.createNamespacedStatefulSet({
          namespace,
          body: { metadata: { name }, spec: { ...spec, serviceName: name } },
        });
      } else {
        await kube.apps.createNamespacedDeployment({ namespace, body: { metadata: { name }, spec } });
      }
    }
  });
  console.log(
    `created ${namespaces} namespaces and ${namespaces * perNamespace} workloads in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const { kube, nc, stop } = await benchQueue();
  try {
    const js = jetstream(nc);
    const label = `pb${Date.now().toString(36)}`;
    await createLandscape(kube, label);
    const log = pino({ level: 'silent' });
    for (let r = 1; r <= rounds; r++) {
      const started = performance.now();
      const report = await publishRound(kube, js, log, {
        selector: `${label}=true`,
        pageSize,
        // Every namespace idle: the round publishes a sleep for every workload (worst case), then duplicates.
        defaultIdleAfter: 1_000,
        systemNamespace: 'nozzle-system',
        period: 5 * 60_000,
      });
      const ms = performance.now() - started;
      console.log(
        `round ${r}: ${ms.toFixed(0)} ms, ${report.namespaces} namespaces, ${report.workloads} workloads, ` +
          `${report.due} due, ${report.published} published, ${report.duplicates} duplicates, ` +
          `${report.listCalls} list calls, ${report.queryCalls} queries`,
      );
    }
  } finally {
    await stop();
  }
}

await main();
