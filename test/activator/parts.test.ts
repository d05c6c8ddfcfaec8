import test from 'ava';
import type { V1HTTPIngressPath, V1Ingress } from '@kubernetes/client-node';
import { Registry, Gauge } from 'prom-client';
import { serializeBackends } from '../../lib/backends.js';
import { forwardRequestHeaders, forwardResponseHeaders } from '../../activator/headers.js';
import { HoldSlots } from '../../activator/holds.js';
import { routesOfIngress } from '../../activator/ingress-routes.js';
import { isBrowserRequest, requestTarget, BadRequestTargetError } from '../../activator/request-target.js';
import { microTime } from '../../lib/kube/events.js';
import { wokeNote } from '../../lib/wake/event.js';

test('hop-by-hop headers and those named in Connection are not forwarded', (t) => {
  const out = forwardRequestHeaders(
    {
      host: ['app.example'],
      connection: ['keep-alive, X-Secret-Hop'],
      'keep-alive': ['timeout=5'],
      'x-secret-hop': ['1'],
      'transfer-encoding': ['chunked'],
      te: ['trailers'],
      upgrade: ['websocket'],
      'proxy-authorization': ['Basic x'],
      expect: ['100-continue'],
      cookie: ['a=1', 'b=2'],
      'content-type': ['application/json'],
    },
    { remoteAddress: '10.0.0.9', protocol: 'http', host: 'app.example' },
  );
  t.deepEqual(Object.keys(out).sort(), [
    'content-type',
    'cookie',
    'host',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
  ]);
  t.deepEqual(out.cookie, ['a=1', 'b=2']);
});

test('X-Forwarded-For is appended to; Proto and Host keep what a proxy in front said', (t) => {
  const out = forwardRequestHeaders(
    {
      'x-forwarded-for': ['203.0.113.7'],
      'x-forwarded-proto': ['https'],
      'x-forwarded-host': ['public.example'],
      'x-forwarded-port': ['443'],
    },
    { remoteAddress: '10.0.0.9', protocol: 'http', host: 'app.example' },
  );
  t.is(out['x-forwarded-for'], '203.0.113.7, 10.0.0.9');
  t.is(out['x-forwarded-proto'], 'https');
  t.is(out['x-forwarded-host'], 'public.example');
  t.is(out['x-forwarded-port'], '443');

  const bare = forwardRequestHeaders(
    {},
    { remoteAddress: '127.0.0.1', protocol: 'http', host: 'app.example:8080' },
  );
  t.is(bare['x-forwarded-for'], '127.0.0.1');
  t.is(bare['x-forwarded-proto'], 'http');
  t.is(bare['x-forwarded-host'], 'app.example:8080');
});

test('an upgrade keeps Connection: upgrade and Upgrade, nothing else hop-by-hop', (t) => {
  const out = forwardRequestHeaders(
    { connection: ['Upgrade, x-hop'], upgrade: ['websocket'], 'x-hop': ['1'], 'sec-websocket-key': ['k'] },
    { remoteAddress: undefined, protocol: 'http', host: 'h', upgrade: true },
  );
  t.is(out.connection, 'upgrade');
  t.is(out.upgrade, 'websocket');
  t.is(out['x-hop'], undefined);
  t.is(out['sec-websocket-key'], 'k');
});

test('response hop-by-hop headers are dropped; set-cookie arrays kept', (t) => {
  const out = forwardResponseHeaders({
    connection: 'close, x-internal',
    'x-internal': 'y',
    'transfer-encoding': 'chunked',
    'set-cookie': ['a=1', 'b=2'],
    'content-type': 'text/plain',
  });
  t.deepEqual(out, { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
});

test('the hold limit is per namespace and a slot is released once', (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'held', help: 'h', registers: [registry] });
  const slots = new HoldSlots(2, gauge);
  const a = slots.tryAcquire('ns');
  const b = slots.tryAcquire('ns');
  t.truthy(a && b);
  t.is(slots.tryAcquire('ns'), undefined);
  t.truthy(slots.tryAcquire('other'));
  a!.release();
  a!.release();
  t.is(slots.held('ns'), 1);
  t.truthy(slots.tryAcquire('ns'));
  t.is(slots.tryAcquire('ns'), undefined);
  t.is(slots.held(), 3);
});

test('request target: Host for origin-form, the URL for absolute-form; others refused', (t) => {
  const origin = requestTarget({ url: '/a/b?x=1', headers: { host: 'App.Example:8080' } });
  t.like(origin, {
    host: 'app.example',
    authority: 'App.Example:8080',
    path: '/a/b',
    pathAndQuery: '/a/b?x=1',
  });
  const absolute = requestTarget({ url: 'http://other.example:81/p?q', headers: { host: 'app.example' } });
  t.like(absolute, {
    host: 'other.example',
    authority: 'other.example:81',
    path: '/p',
    pathAndQuery: '/p?q',
    absoluteForm: true,
  });
  t.throws(() => requestTarget({ url: '*', headers: { host: 'h' } }), { instanceOf: BadRequestTargetError });
  t.throws(() => requestTarget({ url: '/x', headers: {} }), { instanceOf: BadRequestTargetError });
});

test('a browser is a GET that accepts text/html', (t) => {
  const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
  t.true(isBrowserRequest({ method: 'GET', headers: { accept: html } }));
  t.false(isBrowserRequest({ method: 'POST', headers: { accept: html } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: 'application/json' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: '*/*' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: 'text/htmlx' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: html, upgrade: 'websocket' } }));
});

const toActivator = (path: string, pathType: string): V1HTTPIngressPath => ({
  path,
  pathType,
  backend: { service: { name: 'nozzle-activator', port: { number: 80 } } },
});

test('routes of an Ingress come from nozzle.io/backends only; unusable records are reported', (t) => {
  const ingress: V1Ingress = {
    metadata: {
      name: 'web',
      namespace: 'shop',
      annotations: {
        'nozzle.io/backends': serializeBackends([
          {
            host: 'Shop.Example',
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name: 'web', port: { number: 8080 } } },
          },
          {
            host: '',
            path: '/api',
            pathType: 'Exact',
            backend: { service: { name: 'api', port: { name: 'http' } } },
          },
          {
            host: 'x',
            path: '/r',
            pathType: 'Prefix',
            backend: { resource: { apiGroup: 'k8s.example', kind: 'Bucket', name: 'b' } },
          },
        ]),
      },
    },
    spec: {
      rules: [
        { host: 'Shop.Example', http: { paths: [toActivator('/', 'Prefix')] } },
        { http: { paths: [toActivator('/api', 'Exact')] } },
        { host: 'x', http: { paths: [toActivator('/r', 'Prefix')] } },
      ],
    },
  };
  const { routes, problems } = routesOfIngress(ingress);
  t.deepEqual(
    [...routes].sort((a, b) => a.service.localeCompare(b.service)),
    [
      {
        namespace: 'shop',
        ingress: 'web',
        host: '',
        path: '/api',
        pathType: 'Exact',
        service: 'api',
        port: 'http',
      },
      {
        namespace: 'shop',
        ingress: 'web',
        host: 'shop.example',
        path: '/',
        pathType: 'Prefix',
        service: 'web',
        port: 8080,
      },
    ],
  );
  t.is(problems.length, 1);
  t.regex(problems[0]!, /not a Service/);
  t.deepEqual(routesOfIngress({ metadata: { annotations: { 'nozzle.io/backends': '{oops' } } }).routes, []);
});

test('the Woke event note and MicroTime format', (t) => {
  t.is(wokeNote(3, 8_240), 'Woke: 3 workloads ready in 8.2s');
  t.is(wokeNote(1, 500), 'Woke: 1 workload ready in 0.5s');
  t.is(microTime(new Date('2025-01-02T03:04:05.678Z')), '2025-01-02T03:04:05.678000Z');
});
