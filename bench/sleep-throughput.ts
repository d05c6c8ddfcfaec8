/**
 * Sleep operations per second, end to end: messages on a real nats-server,
 * the Worker, the real kube-apiserver. Each operation is the full sleep of
 * one Deployment (route Service, shared-Ingress rewrite, conditional scale,
 * Event).
 *
 *   scripts/node24 npm run build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/sleep-throughput.js \
 *     [--workloads 200] [--concurrency 1,4,16] [--per-ingress 10]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats } from '../lib/jetstream/connect.js';
import type { Kube } from '../lib/kube/client.js';
import { decisionId, encodeMessage, sleepMessage, subjectOf } from '../lib/messages.js';
import { jetstream as names } from '../lib/names.js';
import { restoreWorkloads } from '../lib/wake/restore.js';
import { restoreIngresses } from '../lib/upgrade/ingress-v01.js';
import { prefixPath } from '../test/support/ingress-path.js';
import { workerMetrics } from '../worker/metrics.js';
import { Worker } from '../worker/worker.js';
import { benchQueue } from './queue.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

const workloads = Number(arg('workloads', '200'));
const concurrencies = arg('concurrency', '1,4,16').split(',').map(Number);
const perIngress = Number(arg('per-ingress', '10'));

async function createNamespace(kube: Kube): Promise<string> {
  const namespace = `bench-${Date.now().toString(36)}`;
  await kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { nozzle: 'true' } } } });
  const batch = async (from: number, make: (i: number) => Promise<unknown>) => {
    const jobs = [];
    for (let i = from; i < Math.min(from + 20, workloads); i++) jobs.push(make(i));
    await Promise.all(jobs);
  };
  for (let from = 0; from < workloads; from += 20) {
    await batch(from, (i) =>
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
    await batch(from, (i) =>
      kube.core.createNamespacedService({
        namespace,
        body: {
          metadata: { name: `app-${i}` },
          // Headless: no cluster IP to allocate (the test apiserver's range is a /24).
          spec: { clusterIP: 'None', selector: { app: `app-${i}` }, ports: [{ port: 80 }] },
        },
      }),
    );
  }
  for (let start = 0; start < workloads; start += perIngress) {
    const paths = [];
    for (let i = start; i < Math.min(start + perIngress, workloads); i++) paths.push(prefixPath(`app-${i}`));
    await kube.networking.createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: `ing-${start / perIngress}` },
        spec: { rules: [{ host: 'bench.example.com', http: { paths } }] },
      },
    });
  }
  return namespace;
}

async function main(): Promise<void> {
  const { kube, nats, nc, stop } = await benchQueue();
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const namespace = await createNamespace(kube);
    console.log(
      `namespace ${namespace}: ${workloads} Deployments, ${Math.ceil(workloads / perIngress)} shared Ingresses`,
    );

    for (const concurrency of concurrencies) {
      const registry = new Registry();
      const workerConnection = await connectNats(nats.url, { name: `bench-worker-${concurrency}` });
      const worker = new Worker(workerConnection, kube, pino({ level: 'silent' }), workerMetrics(registry), {
        concurrency,
        shutdownTimeout: 30_000,
        activatorService: 'nozzle-activator.nozzle-system.svc.cluster.local',
        namespaceSelector: 'nozzle=true',
        systemNamespace: 'nozzle-system',
        retryDelay: 200,
        retryDelayMax: 2_000,
        operationTimeout: 20_000,
      });
      const at = new Date();
      for (let i = 0; i < workloads; i++) {
        const message = sleepMessage(namespace, { kind: 'Deployment', name: `app-${i}` }, { at });
        await js.publish(subjectOf(message), encodeMessage(message), {
          msgID: `${decisionId(message)}#${concurrency}`,
        });
      }
      const started = performance.now();
      await worker.start();
      for (;;) {
        const info = await jsm.streams.info(names.stream);
        if (info.state.messages === 0) break;
        await sleep(20);
      }
      const seconds = (performance.now() - started) / 1000;
      const metrics = await registry.getSingleMetricAsString('nozzle_worker_messages_total');
      const slept = /outcome="slept"[^\n]* (\d+)/.exec(metrics)?.[1];
      console.log(
        `concurrency ${String(concurrency).padStart(2)}: ${workloads} sleeps in ${seconds.toFixed(2)}s = ${(workloads / seconds).toFixed(1)} sleeps/s (slept: ${slept})`,
      );
      await worker.stop(); // drains its own connection
      await restoreWorkloads(kube, namespace);
      await restoreIngresses(kube, namespace);
    }
    await kube.core.deleteNamespace({ name: namespace });
  } finally {
    await stop();
  }
}

await main();
