/**
 * The data path around a wake: a large body streamed (not buffered) across
 * the wake, WebSocket upgrades held and forwarded, named Service ports, the
 * grace period after a wake, graceful shutdown, and the index recovering
 * from a broken watch.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { connectKube } from '../../lib/kube/client.js';
import { pino } from 'pino';
import { Activator } from '../../activator/activator.js';
import { UpstreamAddresses } from '../../activator/upstream-address.js';
import { adminKube } from '../support/env.js';
import {
  activatorConfig,
  createSleepingNamespace,
  eventually,
  makeReady,
  startApiRecorder,
  startSleepingStage,
  type AppSpec,
} from '../support/activator.js';

const kube = adminKube();
const apps: AppSpec[] = [{ name: 'web', replicas: 1 }];

test('a 64 MiB POST held across the wake is streamed, not buffered, and arrives intact', async (t) => {
  const { namespace, host, activator } = await startSleepingStage(t, kube, { prefix: 'body', apps });

  const total = 64 * 1024 * 1024;
  const chunk = 256 * 1024;
  const hash = createHash('sha256');
  let produced = 0;
  const body = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const bytes = randomBytes(chunk);
      produced += bytes.length;
      hash.update(bytes);
      this.push(bytes);
    },
  });
  const response = request(`${activator.url}/upload`, {
    method: 'POST',
    headers: { host, 'content-type': 'application/octet-stream' },
    body,
  });
  await eventually(() => activator.holds.held(namespace) === 1, 'the upload to be held');
  await new Promise((r) => setTimeout(r, 1_000));
  const producedWhileHeld = produced;
  t.log(`while held, the client could send ${(producedWhileHeld / 1024 / 1024).toFixed(1)} MiB of 64 MiB`);
  t.true(producedWhileHeld < 24 * 1024 * 1024, 'backpressure: the activator does not read a held body');

  await makeReady(kube, namespace, apps[0]!);
  const res = await response;
  const answer = (await res.body.json()) as { bodyBytes: number; bodySha256: string; method: string };
  t.is(res.statusCode, 200);
  t.is(res.headers['x-nozzle-cold-start'], 'true');
  t.is(answer.method, 'POST');
  t.is(answer.bodyBytes, total);
  t.is(answer.bodySha256, hash.digest('hex'));
});

test('a client that goes away aborts the forwarded request at the backend', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'abort',
    apps,
  });
  await makeReady(kube, namespace, apps[0]!);
  const quitter = new AbortController();
  const pending = request(`${activator.url}/slow/1`, { headers: { host }, signal: quitter.signal });
  pending.catch(() => undefined);
  await eventually(() => activator.wakes.get(namespace)?.state === 'ready', 'the wake');
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(backend.abandoned, [], 'the backend holds the request open');
  quitter.abort();
  await eventually(
    () => backend.abandoned.includes('/slow/1'),
    'the backend to see the request aborted',
    5_000,
  );
  t.deepEqual(backend.abandoned, ['/slow/1']);
});

test('a WebSocket upgrade is held across the wake, then bytes flow both ways', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, { prefix: 'ws', apps });

  const upgrade = httpRequest({
    host: '127.0.0.1',
    port: activator.port,
    path: '/socket',
    headers: {
      host,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    },
  });
  upgrade.end();
  const upgraded = once(upgrade, 'upgrade') as Promise<[IncomingMessage, Socket, Buffer]>;
  await eventually(() => activator.holds.held(namespace) === 1, 'the upgrade to be held');
  await makeReady(kube, namespace, apps[0]!);
  const [res, socket] = await upgraded;
  t.teardown(() => socket.destroy());
  t.is(res.statusCode, 101);
  t.is(res.headers['x-nozzle-cold-start'], 'true');
  t.is(res.headers['x-app'], 'web');
  const echoed = once(socket, 'data') as Promise<[Buffer]>;
  socket.write('ping over the activator');
  t.is((await echoed)[0].toString(), 'ping over the activator');
  t.is(backend.requests[0]?.headers.upgrade, 'websocket');
  t.is(backend.requests[0]?.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
});

test('a named Service port is resolved from the Service; without an override the address is cluster DNS', async (t) => {
  const named: AppSpec[] = [{ name: 'web', replicas: 1, servicePort: 8081, portName: 'web-http' }];
  const { namespace } = await createSleepingNamespace(kube, 'ports', named);
  const addresses = new UpstreamAddresses({ kube, clusterDomain: 'cluster.local', devUpstreams: new Map() });
  const route = {
    namespace,
    ingress: 'web',
    host: 'h',
    path: '/',
    pathType: 'Prefix' as const,
    service: 'web',
  };
  t.is(
    await addresses.origin({ ...route, port: 'web-http' }),
    `http://web.${namespace}.svc.cluster.local:8081`,
  );
  t.is(await addresses.origin({ ...route, port: 9090 }), `http://web.${namespace}.svc.cluster.local:9090`);
  await t.throwsAsync(addresses.origin({ ...route, port: 'nope' }), { message: /has no port named "nope"/ });
  const overridden = new UpstreamAddresses({
    kube,
    clusterDomain: 'cluster.local',
    devUpstreams: new Map([[`${namespace}/web`, '127.0.0.1:1234']]),
  });
  t.is(await overridden.origin({ ...route, port: 'web-http' }), 'http://127.0.0.1:1234');
});

test('after a wake, requests through a stale ingress config are forwarded for the grace period, then 404', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'grace',
    apps,
    config: { wakeGrace: 1_500 },
  });
  await makeReady(kube, namespace, apps[0]!);
  const first = await request(`${activator.url}/one`, { headers: { host } });
  t.is(first.statusCode, 200);
  await first.body.text();
  await eventually(() => !activator.index.isSleeping(namespace), 'the Ingress to leave the index');
  t.is(activator.index.match(host, '/two')?.state, 'grace');

  const stale = await request(`${activator.url}/two`, { headers: { host } });
  t.is(stale.statusCode, 200);
  t.is(stale.headers['x-nozzle-cold-start'], undefined);
  await stale.body.text();
  await eventually(
    () => activator.index.match(host, '/three') === undefined,
    'the grace period to end',
    5_000,
  );
  const after = await request(`${activator.url}/three`, { headers: { host } });
  t.is(after.statusCode, 404);
  await after.body.text();
  t.deepEqual(
    backend.requests.map((r) => r.path),
    ['/one', '/two'],
  );
});

test('graceful shutdown: no new connections, held requests still finish within the deadline', async (t) => {
  // The stage's own teardown stops the activator too; after the stop below that is a no-op.
  const { namespace, host, activator } = await startSleepingStage(t, kube, { prefix: 'drain', apps });

  const held = request(`${activator.url}/held`, { method: 'POST', body: 'still here', headers: { host } });
  await eventually(() => activator.holds.held(namespace) === 1, 'the request to be held');
  const stopped = activator.stop(10_000);
  await t.throwsAsync(request(`${activator.url}/new`, { headers: { host } }), { code: 'ECONNREFUSED' });

  await makeReady(kube, namespace, apps[0]!);
  const res = await held;
  t.is(res.statusCode, 200);
  t.is(((await res.body.json()) as { bodyBytes: number }).bodyBytes, 10);
  await stopped;
  t.is(activator.wakes.active, 0);
});

test('the index recovers from a broken watch and apiserver errors by itself; /readyz follows the sync', async (t) => {
  const recorder = await startApiRecorder();
  recorder.interrupt(1_500);
  const activator = await Activator.start({
    config: activatorConfig(),
    kube: connectKube(recorder.config),
    log: pino({ level: 'silent' }),
  });
  t.teardown(async () => {
    await activator.stop(1_000);
    await recorder.close();
  });
  const notYet = await request(`${activator.url}/readyz`);
  t.is(notYet.statusCode, 503);
  t.regex(await notYet.body.text(), /not ready: Ingress index not synced/);
  const healthz = await request(`${activator.url}/healthz`);
  t.is(healthz.statusCode, 200, 'alive while not ready');
  await healthz.body.text();
  await activator.index.whenSynced();
  const ready = await request(`${activator.url}/readyz`);
  t.is(ready.statusCode, 200);
  await ready.body.text();

  // The watch breaks while a namespace goes to sleep; the activator must learn it once the apiserver is back.
  recorder.interrupt(1_500);
  // Whether the sleep (the real sleep code) ends inside the break or just after it depends on the
  // machine's speed; what must hold is that the activator learns it without a restart.
  const { namespace } = await createSleepingNamespace(kube, 'recover', apps);
  await eventually(() => activator.index.isSleeping(namespace), 'the index to recover', 20_000);
  t.true(
    recorder.requests.some((r) => r.status === 503 && r.path.includes('ingresses')),
    'the watch really failed meanwhile',
  );
  const metrics = await request(`${activator.url}/metrics`);
  const text = await metrics.body.text();
  t.regex(text, /nozzle_activator_index_synced\{[^}]*\} 1/);
  t.regex(text, /nozzle_activator_routes\{state="sleeping"[^}]*\} [1-9]/);
  // And it keeps following changes afterwards.
  await kube.networking.deleteNamespacedIngress({ namespace, name: 'web' });
  await eventually(() => !activator.index.isSleeping(namespace), 'the deletion to be seen');
});
