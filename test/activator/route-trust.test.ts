/**
 * Which nozzle.io/backends records the activator turns into routes: only
 * those the Ingress's spec really routes to the nozzle-activator route
 * Service, and never a host + path that two namespaces claim. And the index
 * forgets a finished wake when a relist shows the namespace asleep again.
 */
import test from 'ava';
import { KubeConfig, type V1HTTPIngressPath, type V1Ingress } from '@kubernetes/client-node';
import { pino } from 'pino';
import { serializeBackends, type BackendRecord } from '../../lib/backends.js';
import { connectKube } from '../../lib/kube/client.js';
import { IngressIndex, type RouteCounts } from '../../activator/ingress-index.js';
import { routesOfIngress } from '../../activator/ingress-routes.js';
import { RouteTable, type PathType, type Route } from '../../activator/route-table.js';

const toActivator = (path: string, pathType: string): V1HTTPIngressPath => ({
  path,
  pathType,
  backend: { service: { name: 'nozzle-activator', port: { number: 80 } } },
});

const record = (host: string, path: string, pathType: string, service: string): BackendRecord => ({
  host,
  path,
  pathType,
  backend: { service: { name: service, port: { number: 80 } } },
});

/** A rewritten Ingress: `records` in the annotation, `paths` (host -> paths) in the spec. */
function ingress(
  namespace: string,
  name: string,
  records: BackendRecord[],
  rules: { host?: string; paths: V1HTTPIngressPath[] }[],
  generation = 1,
): V1Ingress {
  return {
    metadata: {
      namespace,
      name,
      generation,
      labels: { 'nozzle.io/managed': 'true' },
      annotations: { 'nozzle.io/backends': serializeBackends(records) },
    },
    spec: { rules: rules.map((r) => ({ ...(r.host ? { host: r.host } : {}), http: { paths: r.paths } })) },
  };
}

test('a record becomes a route only if the spec routes that host + pathType + path to nozzle-activator', (t) => {
  const { routes, problems, unrouted } = routesOfIngress(
    ingress(
      'tenant',
      'claim',
      [
        record('shop.example', '/', 'Prefix', 'ok'), // routed: the only route
        record('victim.example', '/', 'Prefix', 'evil'), // spec sends that host to the tenant's own Service
        record('shop.example', '/api', 'Prefix', 'wrong-type'), // spec has it as Exact
        record('other.example', '/x', 'Prefix', 'no-rule'), // no rule for the host at all
        record('', '/any', 'Prefix', 'hostless'), // spec has the path under a host, not host-less
      ],
      [
        {
          host: 'shop.example',
          paths: [toActivator('/', 'Prefix'), toActivator('/api', 'Exact'), toActivator('/any', 'Prefix')],
        },
        {
          host: 'victim.example',
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'evil', port: { number: 80 } } } },
          ],
        },
      ],
    ),
  );
  t.deepEqual(
    routes.map((r) => r.service),
    ['ok'],
  );
  t.is(unrouted, 4);
  t.is(problems.length, 4);
  for (const p of problems) t.regex(p, /does not route it to the nozzle-activator Service/);
});

test('an annotation on an Ingress without the rewritten paths claims nothing', (t) => {
  const forged: V1Ingress = {
    metadata: {
      namespace: 'tenant',
      name: 'forged',
      labels: { 'nozzle.io/managed': 'true' },
      annotations: {
        'nozzle.io/backends': serializeBackends([record('victim.example', '/', 'Prefix', 'evil')]),
      },
    },
  };
  t.deepEqual(routesOfIngress(forged).routes, []);
});

const route = (
  namespace: string,
  ingressName: string,
  host: string,
  path: string,
  pathType: PathType,
): Route => ({
  namespace,
  ingress: ingressName,
  host,
  path,
  pathType,
  service: `${namespace}-${ingressName}`,
  port: 80,
});

test('a host + path claimed by two namespaces is refused for both, and reported', (t) => {
  const routes = [
    route('victim', 'web', 'shop.example', '/', 'Prefix'),
    route('tenant', 'grab', 'shop.example', '/', 'ImplementationSpecific'), // matched like Prefix: same claim
    route('victim', 'web', 'shop.example', '/exact', 'Exact'),
    route('tenant', 'grab', 'shop.example', '/exact', 'Prefix'), // a different path (Prefix vs Exact)
  ];
  for (const order of [routes, [...routes].reverse()]) {
    const table = new RouteTable(order);
    t.is(table.match('shop.example', '/'), undefined, 'refused for both namespaces');
    t.is(table.match('shop.example', '/x'), undefined);
    t.is(table.match('shop.example', '/exact')?.namespace, 'victim', 'Exact beats Prefix on a tie');
    t.is(table.match('shop.example', '/exact/y')?.namespace, 'tenant');
    t.is(table.size, 2);
    t.deepEqual(
      table.conflicts.map((c) => ({
        host: c.host,
        path: c.path,
        namespaces: c.namespaces,
        n: c.routes.length,
      })),
      [{ host: 'shop.example', path: '/', namespaces: ['tenant', 'victim'], n: 2 }],
    );
  }
});

test('two Ingresses of one namespace claiming one host + path: the first by name wins, whatever the order', (t) => {
  const a = route('shop', 'a', 'h', '/', 'Prefix');
  const b = route('shop', 'b', 'h', '/', 'Prefix');
  t.is(new RouteTable([a, b]).match('h', '/')?.ingress, 'a');
  t.is(new RouteTable([b, a]).match('h', '/')?.ingress, 'a');
  t.deepEqual(new RouteTable([b, a]).conflicts, []);
});

// ------------------------------------------------------------ the index

/** An index that is never started: the test feeds it what its watch would deliver. */
function index(onNamespaceManaged: (ns: string) => void = () => undefined) {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  const counts: RouteCounts[] = [];
  const idx = new IngressIndex({
    kube: connectKube(config),
    config,
    log: pino({ level: 'silent' }),
    wakeGraceMs: 60_000,
    onNamespaceManaged,
    onChange: (c) => counts.push(c),
  });
  // What the ListWatch calls on a (re)list and on watch events.
  const feed = idx as unknown as {
    replace(items: readonly V1Ingress[]): void;
    set(item: V1Ingress): void;
  };
  return { idx, feed, counts };
}

const sleepingIngress = (namespace: string, host: string, generation = 1): V1Ingress =>
  ingress(
    namespace,
    'web',
    [record(host, '/', 'Prefix', 'web')],
    [{ host, paths: [toActivator('/', 'Prefix')] }],
    generation,
  );

test('the index refuses conflicting and unrouted records, and counts them for the metric', (t) => {
  const { idx, feed, counts } = index();
  t.teardown(() => idx.stop());
  feed.replace([
    sleepingIngress('victim', 'shop.example'),
    sleepingIngress('tenant', 'shop.example'),
    ingress('tenant', 'forged', [record('other.example', '/', 'Prefix', 'evil')], []),
    sleepingIngress('alone', 'alone.example'),
  ]);
  t.is(idx.match('shop.example', '/'), undefined);
  t.false(idx.isSleeping('victim'));
  t.is(idx.match('other.example', '/'), undefined);
  t.is(idx.match('alone.example', '/')?.route.namespace, 'alone');
  t.deepEqual(counts.at(-1), { sleeping: 1, grace: 0, unrouted: 1, conflicting: 2 });

  // The tenant's claim goes away: the victim's route is served again (the
  // tenant's is in its grace period, behind the sleeping one).
  feed.replace([sleepingIngress('victim', 'shop.example'), sleepingIngress('alone', 'alone.example')]);
  t.is(idx.match('shop.example', '/')?.route.namespace, 'victim');
  t.is(idx.match('shop.example', '/')?.state, 'sleeping');
  t.deepEqual(counts.at(-1), { sleeping: 2, grace: 1, unrouted: 0, conflicting: 0 });
});

test('a relist that merges "restored" and "asleep again" into one update forgets the finished wake', (t) => {
  const managed: string[] = [];
  const { idx, feed } = index((ns) => managed.push(ns));
  t.teardown(() => idx.stop());
  feed.replace([sleepingIngress('shop', 'shop.example', 1)]);
  t.deepEqual(managed, ['shop'], 'a newly managed namespace');

  // A label or annotation change (same generation, same records): nothing happened to the routing.
  feed.set(sleepingIngress('shop', 'shop.example', 1));
  t.deepEqual(managed, ['shop']);

  // The watch missed the restore (generation 2) and the sleep after it
  // (generation 3); the relist shows the same records at a later generation.
  feed.replace([sleepingIngress('shop', 'shop.example', 3)]);
  t.deepEqual(managed, ['shop', 'shop'], 'the namespace is asleep again: its finished wake is forgotten');

  // More records at the same generation (cannot happen through the API, but records changing is enough).
  feed.set(
    ingress(
      'shop',
      'web',
      [record('shop.example', '/', 'Prefix', 'web'), record('shop.example', '/api', 'Prefix', 'api')],
      [{ host: 'shop.example', paths: [toActivator('/', 'Prefix'), toActivator('/api', 'Prefix')] }],
      3,
    ),
  );
  t.deepEqual(managed, ['shop', 'shop', 'shop']);
});
