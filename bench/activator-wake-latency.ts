/**
 * From a backend turning Ready to the first held request arriving at it,
 * through the real `nozzle activator` process and the real apiserver of
 * scripts/testenv: BENCH_WAKES (default 25) sleeping namespaces, each opted
 * in with a Deployment at 0 and its backup annotation (so the activator's
 * wake stamps woke-at and restores it, as in a cluster), a Service, its port
 * Lease, takeover slice and an empty controller slice. For each, one HTTP
 * request is sent to its activator port and held; then the bench writes the
 * controller-style EndpointSlice with the backend as ready endpoint (standing
 * in for the EndpointSlice controller) and the backend, its own process,
 * timestamps the request's arrival.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/activator-wake-latency.js
 *   # BENCH_WAKES=25 (default)
 *
 * Baseline in the same run: a bare watch on EndpointSlices in the bench's
 * own process, receiving the same write (the floor: the activator learns of
 * readiness through the same kind of watch, then splices).
 */
import { Watch, type V1EndpointSlice } from '@kubernetes/client-node';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { annotations } from '../lib/names.js';
import { adminKube, adminKubeConfig, uniqueName } from '../test/support/env.js';
import { freePorts } from '../test/support/tcp.js';
import { load, machine, quantile } from './support/machine.js';
import { startActivator, startBackend, stop, type ActivatorProcess } from './support/processes.js';
import { until, within } from './support/wait.js';
import {
  createNamespace,
  deleteNamespaces,
  endpointSlice,
  pool,
  sleepingService,
} from './support/sleeping.js';

const WAKES = Number(process.env.BENCH_WAKES ?? 25);
const now = (): number => performance.timeOrigin + performance.now();

/** The whole answer on a `Connection: close` request. */
function answer(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return once(socket, 'close').then(() => Buffer.concat(chunks).toString('latin1'));
}

interface Wake {
  readonly sentToArrival: number;
  readonly ackToArrival: number;
  readonly sentToWatch: number;
}

async function oneWake(
  kube: ReturnType<typeof adminKube>,
  activator: ActivatorProcess,
  backend: Awaited<ReturnType<typeof startBackend>>,
  watched: Map<string, number>,
  namespace: string,
  port: number,
  i: number,
): Promise<Wake> {
  const url = `/wake-${i}`;
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const answered = answer(socket);
  socket.write(`GET ${url} HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n`);
  // Held once the activator counts it; the wake has stamped woke-at once the namespace says so.
  await until('the request held', async () =>
    (await activator.metric('nozzle_activator_held_connections')) === 1 ? true : undefined,
  );
  await until('woke-at stamped', async () => {
    const ns = await kube.core.readNamespace({ name: namespace });
    return ns.metadata?.annotations?.[annotations.wokeAt] ? true : undefined;
  });
  await sleep(100);
  if (backend.arrived.has(url)) throw new Error(`${url} reached the backend before it was ready`);
  const sent = now();
  await endpointSlice(kube, namespace, 'web', backend.port, true);
  const acked = now();
  const arrived = await within(`${url} at the backend`, backend.arrival(url), 10_000);
  const reply = await answered;
  if (!reply.startsWith('HTTP/1.1 200')) throw new Error(`${url}: ${reply.slice(0, 200)}`);
  const watchAt = await until('the bench watch event', () => watched.get(namespace));
  return { sentToArrival: arrived - sent, ackToArrival: arrived - acked, sentToWatch: watchAt - sent };
}

async function main(): Promise<void> {
  const kube = adminKube();
  const systemNamespace = uniqueName('bench-sys');
  const namespaces = Array.from({ length: WAKES }, (_, i) => `${uniqueName('bench-wake')}-${i}`);
  const loadStart = load();
  const backend = await startBackend({ arrivals: true });
  const ports = await freePorts(WAKES);
  await createNamespace(kube, systemNamespace, false);
  await pool(
    namespaces.map((namespace, i) => ({ namespace, port: ports[i]! })),
    8,
    async ({ namespace, port }) => {
      await createNamespace(kube, namespace);
      await sleepingService(kube, {
        systemNamespace,
        namespace,
        name: 'web',
        port,
        targetPort: backend.port,
        deployment: true,
      });
    },
  );
  const watched = new Map<string, number>();
  const watch = await new Watch(adminKubeConfig()).watch(
    '/apis/discovery.k8s.io/v1/endpointslices',
    {},
    (type: string, slice: V1EndpointSlice) => {
      const { name, namespace } = slice.metadata ?? {};
      if (type === 'ADDED' && name === 'web-ready' && namespace) watched.set(namespace, now());
    },
    () => undefined,
  );
  const activator = await startActivator(systemNamespace);
  const wakes: Wake[] = [];
  let restored = 0;
  try {
    for (const [i, namespace] of namespaces.entries()) {
      const w = await oneWake(kube, activator, backend, watched, namespace, ports[i]!, i);
      wakes.push(w);
      process.stderr.write(`${namespace}: ${JSON.stringify(w)}\n`);
    }
    for (const namespace of namespaces) {
      const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
      if (d.spec?.replicas === 1 && d.metadata?.annotations?.[annotations.replicas] === undefined) restored++;
    }
  } finally {
    watch.abort();
    await stop(activator.child);
    await stop(backend.child);
    await deleteNamespaces(kube, [...namespaces, systemNamespace]);
  }
  const row = (what: string, values: number[]): string =>
    `| ${what} | ${[0, 0.5, 0.9, 1].map((p) => (p === 0 ? Math.min(...values) : quantile(values, p)).toFixed(1)).join(' | ')} |`;
  console.log(
    `Machine: ${machine()}; ${wakes.length} wakes, one activator process; ` +
      `load average ${loadStart} before, ${load()} after. Deployments restored by the wakes: ${restored}/${WAKES}.\n`,
  );
  console.log('| from the ready EndpointSlice write ... | min ms | p50 ms | p90 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(
    row(
      'sent, to the held request at the backend (activator)',
      wakes.map((w) => w.sentToArrival),
    ),
  );
  console.log(
    row(
      'acknowledged, to the held request at the backend',
      wakes.map((w) => w.ackToArrival),
    ),
  );
  console.log(
    row(
      'sent, to a bare watch event in the bench (baseline)',
      wakes.map((w) => w.sentToWatch),
    ),
  );
  if (activator.problems.length > 0) console.log(`\nActivator warnings:\n${activator.problems.join('\n')}`);
}

await main();
