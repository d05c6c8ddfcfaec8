/**
 * How long a held request waits after its backend turns Ready: from the
 * moment the test (standing in for the EndpointSlice controller) sends the
 * EndpointSlice with a ready endpoint, to the held request arriving at the
 * backend through the activator. Watch delivery + forwarding, measured over
 * several wakes; the numbers go into docs/benchmarks.md. A bench, not a test:
 * its bound (forwarded within a second of Ready) is a measurement a loaded
 * machine may miss.
 *
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/ready-latency.js
 */
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminKube } from '../test/support/env.js';
import {
  createSleepingNamespace,
  eventually,
  makeReady,
  startActivator,
  startTestApp,
  type AppSpec,
} from '../test/support/activator.js';

const kube = adminKube();
const ROUNDS = 10;

async function main(): Promise<void> {
  const backend = await startTestApp('latency');
  const apps: AppSpec[] = [{ name: 'web', replicas: 1 }];
  const namespaces: string[] = [];
  for (let i = 0; i < ROUNDS; i++)
    namespaces.push((await createSleepingNamespace(kube, 'latency', apps)).namespace);
  const activator = await startActivator({
    devUpstreams: new Map(namespaces.map((ns) => [`${ns}/web`, backend.address])),
  });
  try {
    await measure();
  } finally {
    await activator.stop(1_000);
    await backend.close();
  }

  async function measure(): Promise<void> {
    const sentToForward: number[] = [];
    const ackedToForward: number[] = [];
    for (const namespace of namespaces) {
      const host = `${namespace}.apps.test`;
      await eventually(() => activator.index.isSleeping(namespace), 'the index');
      const held = request(`${activator.url}/measure`, { headers: { host, 'x-test-id': namespace } });
      await eventually(() => activator.holds.held(namespace) === 1, 'the request to be held');
      // Let the wake reach the waiting-for-readiness step (replicas restored, woke-at stamped).
      await eventually(async () => {
        const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
        return d.spec?.replicas === 1;
      }, 'replicas restored');
      const { sentAt, ackedAt } = await makeReady(kube, namespace, apps[0]!);
      const res = await held;
      assert.equal(res.statusCode, 200);
      await res.body.text();
      const arrival = backend.requests.find((r) => r.headers['x-test-id'] === namespace)?.arrivedAt ?? NaN;
      sentToForward.push(arrival - sentAt);
      ackedToForward.push(arrival - ackedAt);
    }
    const stats = (xs: number[]): string => {
      const s = [...xs].sort((a, b) => a - b);
      const at = (q: number): string => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
      return `min ${s[0]!.toFixed(1)} / p50 ${at(0.5)} / p90 ${at(0.9)} / max ${s.at(-1)!.toFixed(1)} ms`;
    };
    console.log(`EndpointSlice write sent -> held request at the backend: ${stats(sentToForward)}`);
    console.log(`EndpointSlice write acknowledged -> held request at the backend: ${stats(ackedToForward)}`);
    for (const ms of sentToForward) {
      assert.ok(ms > 0, 'never forwarded before Ready');
      if (ms >= 1_000) console.warn(`slow: forwarded ${ms.toFixed(1)} ms after Ready`);
    }
  }
}

await main();
