/**
 * Sleep operations per second, end to end: messages on a real nats-server,
 * the Worker, the real kube-apiserver. Each operation is the full sleep of
 * one Deployment with endpoint takeover (design v2): its Service's takeover
 * EndpointSlice (ports already assigned: the Leases exist, as for any
 * workload that slept before), the conditional scale to 0 with the backup,
 * the KEDA check (no CRD here: one 404), the re-ensure, and the Event. Two
 * ready activator pods are read from the worker's watch. API requests per
 * sleep are counted from the apiserver's own apiserver_request_total (the
 * 404 of the KEDA list and the bench's two reads of /metrics count as
 * requests without a resource).
 *
 *   scripts/node24 npm run build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/sleep-throughput.js \
 *     [--workloads 200] [--concurrency 1,8,16]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats } from '../lib/jetstream/connect.js';
import type { Kube } from '../lib/kube/client.js';
import { decisionId, encodeMessage, sleepMessage, subjectOf } from '../lib/messages.js';
import { jetstream as names } from '../lib/names.js';
import { assignPorts } from '../lib/takeover/port-assignment.js';
import { restoreWorkloads } from '../lib/wake/restore.js';
import { kubeRequest } from '../scripts/testenv/servers/kube-request.js';
import { readyActivatorPods } from '../test/support/activator-pods.js';
import { workerMetrics } from '../worker/metrics.js';
import { Worker } from '../worker/worker.js';
import { benchQueue } from './queue.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

const workloads = Number(arg('workloads', '200'));
const concurrencies = arg('concurrency', '1,8,16').split(',').map(Number);
const SYSTEM = 'nozzle-system';

async function batches(count: number, make: (i: number) => Promise<unknown>): Promise<void> {
  for (let from = 0; from < count; from += 20) {
    const jobs = [];
    for (let i = from; i < Math.min(from + 20, count); i++) jobs.push(make(i));
    await Promise.all(jobs);
  }
}

/** Two activator pods in nozzle-system, Ready with an IP (no kubelet here: the status is written). */
async function activatorPods(kube: Kube): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name: SYSTEM } } });
  await readyActivatorPods(kube, SYSTEM, 2);
}

async function createNamespace(kube: Kube): Promise<string> {
  const namespace = `bench-${Date.now().toString(36)}`;
  await kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { nozzle: 'true' } } } });
  await batches(workloads, (i) =>
    kube.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: `app-${i}` },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: `app-${i}` } },
          template: {
            metadata: { labels: { app: `app-${i}` } },
            spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
          },
        },
      },
    }),
  );
  await batches(workloads, async (i) => {
    const service = await kube.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: `app-${i}` },
        spec: { selector: { app: `app-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await assignPorts(kube, { systemNamespace: SYSTEM }, service);
  });
  return namespace;
}

/** apiserver_request_total by verb and resource, from the apiserver's /metrics. */
async function requestCounts(kube: Kube): Promise<Map<string, number>> {
  const res = await kubeRequest(kube.config, 'GET', '/metrics');
  const counts = new Map<string, number>();
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels: Record<string, string> = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (labels.verb === 'WATCH') continue; // open watches (the activator pods'), not requests per sleep
    const key = `${labels.verb} ${labels.resource || `(${labels.group || 'no'} group)`}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, n] of after) if (n - (before.get(key) ?? 0) > 0) out.set(key, n - (before.get(key) ?? 0));
  return out;
}

async function main(): Promise<void> {
  const { kube, nats, nc, stop } = await benchQueue();
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await activatorPods(kube);
    const namespace = await createNamespace(kube);
    console.log(`namespace ${namespace}: ${workloads} Deployments, each with its ClusterIP Service`);

    for (const concurrency of concurrencies) {
      const registry = new Registry();
      const workerConnection = await connectNats(nats.url, { name: `bench-worker-${concurrency}` });
      const worker = new Worker(workerConnection, kube, pino({ level: 'silent' }), workerMetrics(registry), {
        concurrency,
        shutdownTimeout: 30_000,
        namespaceSelector: 'nozzle=true',
        systemNamespace: SYSTEM,
        retryDelay: 200,
        retryDelayMax: 2_000,
        operationTimeout: 20_000,
        maxClockSkew: 30_000,
      });
      const at = new Date();
      for (let i = 0; i < workloads; i++) {
        const message = sleepMessage(namespace, { kind: 'Deployment', name: `app-${i}` }, { at });
        await js.publish(subjectOf(message), encodeMessage(message), {
          msgID: `${decisionId(message)}#${concurrency}`,
        });
      }
      const before = await requestCounts(kube);
      const started = performance.now();
      await worker.start();
      for (;;) {
        const info = await jsm.streams.info(names.stream);
        if (info.state.messages === 0) break;
        await sleep(20);
      }
      const seconds = (performance.now() - started) / 1000;
      const requests = difference(await requestCounts(kube), before);
      const total = [...requests.values()].reduce((a, b) => a + b, 0);
      const metrics = await registry.getSingleMetricAsString('nozzle_worker_messages_total');
      const slept = /outcome="slept"[^\n]* (\d+)/.exec(metrics)?.[1];
      console.log(
        `concurrency ${String(concurrency).padStart(2)}: ${workloads} sleeps in ${seconds.toFixed(2)}s = ${(workloads / seconds).toFixed(1)} sleeps/s (slept: ${slept}); ${(total / workloads).toFixed(1)} API requests per sleep`,
      );
      console.log(
        `  ${[...requests]
          .sort((a, b) => b[1] - a[1])
          .map(([key, n]) => `${key} ${(n / workloads).toFixed(2)}`)
          .join(', ')}`,
      );
      await worker.stop(); // drains its own connection
      await restoreWorkloads(kube, namespace);
      await kube.discovery.deleteCollectionNamespacedEndpointSlice({
        namespace,
        labelSelector: 'endpointslice.kubernetes.io/managed-by=nozzle.io',
      });
    }
  } finally {
    await stop();
  }
}

await main();
