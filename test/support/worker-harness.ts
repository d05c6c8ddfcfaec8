/** A worker in the test process (the CLI runs the same Worker; see nozzle-process.ts for the real process). */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats } from '../../lib/jetstream/connect.js';
import type { Kube } from '../../lib/kube/client.js';
import { workerMetrics } from '../../worker/metrics.js';
import { Worker, type WorkerOptions } from '../../worker/worker.js';
import type { TopologySettings } from '../../lib/jetstream/topology.js';
import { decisionId, encodeMessage, subjectOf, type NozzleMessage } from '../../lib/messages.js';
import type { LogLine } from './nozzle-process.js';
import { startPrivateNats, type PrivateNats } from './private-nats.js';
import { setupTopology } from './stream.js';

export const workerDefaults: WorkerOptions = {
  concurrency: 4,
  shutdownTimeout: 10_000,
  // What the fixtures' namespaces carry (the shipped default); namespaces without it are refused.
  namespaceSelector: 'nozzle=true',
  systemNamespace: 'nozzle-system',
  retryDelay: 200,
  retryDelayMax: 2_000,
  operationTimeout: 60_000,
  maxClockSkew: 30_000,
};

export interface RunningWorker {
  readonly worker: Worker;
  readonly lines: LogLine[];
  readonly registry: Registry;
  stop(): Promise<void>;
}

export async function startWorker(
  natsUrl: string,
  kube: Kube,
  options: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'debug', name: 'test-worker' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const nc = await connectNats(natsUrl, { name: 'test-worker' });
  const registry = new Registry();
  const worker = new Worker(nc, kube, log, workerMetrics(registry), { ...workerDefaults, ...options });
  await worker.start();
  let stopped: Promise<void> | undefined;
  return {
    worker,
    lines,
    registry,
    stop: () => (stopped ??= worker.stop()),
  };
}

/** The value of a counter/gauge sample with exactly these labels, from a registry or a /metrics text. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

/** A nats-server of the test's own, with NOZZLE, NOZZLE_DLQ and nozzle-worker set up; stopped at teardown. */
export async function privateQueue(
  t: { teardown(fn: () => unknown): void },
  topology: Partial<TopologySettings> = {},
): Promise<{ nats: PrivateNats; nc: NatsConnection; js: JetStreamClient }> {
  const nats = await startPrivateNats();
  t.teardown(() => nats.stop());
  const nc = await connectNats(nats.url, { name: 'test' });
  t.teardown(() => nc.close());
  await setupTopology(nc, topology);
  return { nats, nc, js: jetstream(nc) };
}

/** Publishes a message as the publisher would (subject, Nats-Msg-Id), or with `msgID` to force a distinct copy. */
export async function publish(js: JetStreamClient, message: NozzleMessage, msgID = decisionId(message)) {
  return js.publish(subjectOf(message), encodeMessage(message), { msgID });
}
