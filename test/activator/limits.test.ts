/**
 * The activator's own answers: readiness timeout (504 saying what was not
 * ready), the hold limit (503 + Retry-After), a client that gives up freeing
 * its slot at once, unknown hosts (404), and never forwarding to a host a
 * client names (Host header or absolute-form URL).
 */
import test from 'ava';
import { Agent, request } from 'undici';
import { adminKube, uniqueName } from '../support/env.js';
import {
  createAwakeNamespace,
  eventually,
  makeReady,
  metric,
  rawHttp,
  sleepApps,
  startSleepingStage,
  startTestApp,
  type AppSpec,
} from '../support/activator.js';

const kube = adminKube();
const apps: AppSpec[] = [{ name: 'web', replicas: 1 }];

test('past the readiness timeout held requests get 504 with what was not ready', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'timeout',
    apps,
    config: { readinessTimeout: 1_500 },
  });

  const started = Date.now();
  const res = await request(`${activator.url}/orders`, { method: 'POST', body: 'x', headers: { host } });
  const body = (await res.body.json()) as {
    error: string;
    namespace: string;
    message: string;
    notReady: { services: string[]; workloads: { name: string; ready: number; desired: number }[] };
  };
  t.is(res.statusCode, 504);
  t.true(Date.now() - started >= 1_400, 'it waited for the timeout');
  t.is(body.error, 'readiness_timeout');
  t.is(body.namespace, namespace);
  t.deepEqual(body.notReady.services, ['web']);
  t.like(body.notReady.workloads[0], { name: 'web', ready: 0, desired: 1 });
  t.regex(body.message, /Service web has no ready endpoint/);
  t.is(backend.requests.length, 0);

  // The page's status says the same.
  const status = (await (
    await request(`${activator.url}/_nozzle/status`, { headers: { host } })
  ).body.json()) as {
    phase: string;
    message: string;
  };
  t.is(status.phase, 'failed');
  t.regex(status.message, /not ready after 2s/);
  t.is(
    await metric(activator, 'nozzle_activator_rejected_requests_total', { reason: 'readiness_timeout' }),
    1,
  );
  t.is(await metric(activator, 'nozzle_activator_wakes_total', { result: 'failed' }), 1);

  // The Ingress stays pointed at the activator; a later request tries again and succeeds once Ready.
  const ingress = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
  t.is(ingress.metadata?.labels?.['nozzle.io/managed'], 'true');
  const retry = request(`${activator.url}/orders`, { method: 'POST', body: 'y', headers: { host } });
  await makeReady(kube, namespace, apps[0]!);
  const ok = await retry;
  t.is(ok.statusCode, 200);
  t.is(((await ok.body.json()) as { bodyBytes: number }).bodyBytes, 1);
});

test('over the hold limit: 503 with Retry-After; a client that gives up frees its slot at once', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'holds',
    apps,
    config: { holdLimit: 3, retryAfter: 7_000 },
  });
  const agent = new Agent({ connections: 16 });
  t.teardown(() => agent.close());

  const quitter = new AbortController();
  const abandoned = request(`${activator.url}/a`, {
    dispatcher: agent,
    headers: { host },
    signal: quitter.signal,
  });
  abandoned.catch(() => undefined);
  const held = [1, 2].map((i) =>
    request(`${activator.url}/held/${i}`, { dispatcher: agent, headers: { host } }),
  );
  await eventually(() => activator.holds.held(namespace) === 3, 'three held requests');

  const over = await request(`${activator.url}/over`, { dispatcher: agent, headers: { host } });
  t.is(over.statusCode, 503);
  t.is(over.headers['retry-after'], '7');
  t.is(((await over.body.json()) as { error: string }).error, 'hold_limit');
  t.is(await metric(activator, 'nozzle_activator_rejected_requests_total', { reason: 'hold_limit' }), 1);

  quitter.abort();
  await eventually(() => activator.holds.held(namespace) === 2, 'the abandoned slot to be freed');
  const fourth = request(`${activator.url}/held/3`, { dispatcher: agent, headers: { host } });
  await eventually(() => activator.holds.held(namespace) === 3, 'the freed slot to be taken');

  await makeReady(kube, namespace, apps[0]!);
  const answers = await Promise.all([...held, fourth]);
  t.deepEqual(
    answers.map((a) => a.statusCode),
    [200, 200, 200],
  );
  await Promise.all(answers.map((a) => a.body.text()));
  t.false(
    backend.requests.some((r) => r.path === '/a'),
    'the abandoned request was never forwarded',
  );
  t.is(backend.requests.length, 3);
  t.is(activator.holds.held(namespace), 0);
});

test('unknown hosts get 404 (a page for browsers), and /_nozzle/ paths are never forwarded', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'unknown',
    apps,
  });

  const json = await request(`${activator.url}/`, { headers: { host: 'nobody.apps.test' } });
  t.is(json.statusCode, 404);
  t.is(((await json.body.json()) as { error: string }).error, 'not_found');
  const page = await request(`${activator.url}/`, {
    headers: { host: 'nobody.apps.test', accept: 'text/html' },
  });
  t.is(page.statusCode, 404);
  t.regex(await page.body.text(), /Nothing is served at nobody\.apps\.test/);
  const other = await request(`${activator.url}/_nozzle/anything`, { headers: { host } });
  t.is(other.statusCode, 404);
  await other.body.text();
  const status = await request(`${activator.url}/_nozzle/status`, { headers: { host: 'nobody.apps.test' } });
  t.is(status.statusCode, 404);
  await status.body.text();
  t.is(backend.requests.length, 0);
  t.is(activator.wakes.get(namespace), undefined, 'none of these woke the namespace');

  // A host-less rule matches every host, but only on its own path; a status
  // poll from another host does not wake it.
  const anyHost = uniqueName('anyhost');
  await createAwakeNamespace(kube, anyHost, '', apps, { paths: () => `/${anyHost}` });
  await sleepApps(kube, anyHost, apps);
  await eventually(() => activator.index.isSleeping(anyHost), 'the host-less Ingress in the index');
  const elsewhere = await request(`${activator.url}/`, { headers: { host: 'nobody.apps.test' } });
  t.is(elsewhere.statusCode, 404);
  await elsewhere.body.text();
  const anyStatus = await request(`${activator.url}/_nozzle/status`, {
    headers: { host: 'nobody.apps.test' },
  });
  t.is(anyStatus.statusCode, 404);
  await anyStatus.body.text();
  const fromItsPage = await request(`${activator.url}/_nozzle/status`, {
    headers: { host: 'nobody.apps.test', referer: `http://nobody.apps.test/${anyHost}/page` },
  });
  t.is(fromItsPage.statusCode, 200, 'the page of a host-less route finds its status through its Referer');
  t.like(await fromItsPage.body.json(), { namespace: anyHost, phase: 'waking' });
  await activator.wakes.get(anyHost)?.close();
  t.true(
    (await metric(activator, 'nozzle_activator_rejected_requests_total', { reason: 'unknown_host' })) >= 2,
  );
});

test('a Host header or absolute-form URL naming another server is never forwarded there', async (t) => {
  const { namespace, host, backend, activator } = await startSleepingStage(t, kube, {
    prefix: 'open-proxy',
    apps,
  });
  const elsewhere = await startTestApp('elsewhere');
  t.teardown(() => elsewhere.close());
  await makeReady(kube, namespace, apps[0]!);
  const port = activator.port;

  // Host naming the other server: 404, nothing reaches it.
  const byHost = await rawHttp(
    port,
    `GET /steal HTTP/1.1\r\nHost: ${elsewhere.address}\r\nConnection: close\r\n\r\n`,
  );
  t.regex(byHost, /^HTTP\/1\.1 404 /);
  // Absolute-form naming the other server (with a known Host header): the URL wins, and it is unknown: 404.
  const absolute = await rawHttp(
    port,
    `GET http://${elsewhere.address}/steal HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
  );
  t.regex(absolute, /^HTTP\/1\.1 404 /);
  // CONNECT tunnels are not offered at all.
  const connect = await rawHttp(
    port,
    `CONNECT ${elsewhere.address} HTTP/1.1\r\nHost: ${elsewhere.address}\r\n\r\n`,
  );
  t.notRegex(connect, /^HTTP\/1\.1 200/);
  t.is(elsewhere.requests.length, 0, 'the named server never received anything');

  // Absolute-form naming a known host goes to that host's recorded backend, in origin-form.
  const known = await rawHttp(
    port,
    `GET http://${host}/x?y=1 HTTP/1.1\r\nHost: ${elsewhere.address}\r\nConnection: close\r\n\r\n`,
  );
  t.regex(known, /^HTTP\/1\.1 200 /);
  t.is(backend.requests.at(-1)?.path, '/x?y=1');
  t.is(backend.requests.at(-1)?.headers.host, host);
  t.is(elsewhere.requests.length, 0);
});
