/**
 * How long a held request waits after its backend turns Ready: from the
 * moment the test (standing in for the EndpointSlice controller) sends the
 * EndpointSlice with a ready endpoint, to the held request arriving at the
 * backend through the activator. Watch delivery + forwarding, measured over
 * several wakes; the numbers go into the closing note and docs/benchmarks.md.
 */
import test from 'ava';
import { request } from 'undici';
import { adminKube } from '../support/env.js';
import {
  createSleepingNamespace,
  eventually,
  makeReady,
  startActivator,
  startTestApp,
  type AppSpec,
} from '../support/activator.js';

const kube = adminKube();
const ROUNDS = 10;

test(`EndpointSlice Ready -> first held request forwarded, over ${ROUNDS} wakes`, async (t) => {
  const backend = await startTestApp('latency');
  const apps: AppSpec[] = [{ name: 'web', replicas: 1 }];
  const namespaces: string[] = [];
  for (let i = 0; i < ROUNDS; i++)
    namespaces.push((await createSleepingNamespace(kube, 'latency', apps)).namespace);
  const activator = await startActivator({
    devUpstreams: new Map(namespaces.map((ns) => [`${ns}/web`, backend.address])),
  });
  t.teardown(async () => {
    await activator.stop(1_000);
    await backend.close();
  });

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
    t.is(res.statusCode, 200);
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
  t.log(`EndpointSlice write sent -> held request at the backend: ${stats(sentToForward)}`);
  t.log(`EndpointSlice write acknowledged -> held request at the backend: ${stats(ackedToForward)}`);
  for (const ms of sentToForward) {
    t.true(ms > 0, 'never forwarded before Ready');
    t.true(ms < 1_000, `forwarded ${ms.toFixed(1)} ms after Ready`);
  }
});
