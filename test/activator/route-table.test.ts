import test from 'ava';
import { RouteTable, normalizeHost, type PathType, type Route } from '../../activator/route-table.js';

const route = (host: string, path: string, pathType: PathType, service: string, namespace = 'ns'): Route => ({
  namespace,
  ingress: 'web',
  host,
  path,
  pathType,
  service,
  port: 80,
});

const svc = (table: RouteTable, host: string, path: string): string | undefined =>
  table.match(host, path)?.service;

test('Prefix matches element-wise, the way the Ingress API defines it', (t) => {
  const table = new RouteTable([route('a.example', '/foo', 'Prefix', 'foo')]);
  t.is(svc(table, 'a.example', '/foo'), 'foo');
  t.is(svc(table, 'a.example', '/foo/'), 'foo');
  t.is(svc(table, 'a.example', '/foo/bar'), 'foo');
  t.is(svc(table, 'a.example', '/foobar'), undefined);
  t.is(svc(table, 'a.example', '/'), undefined);
  t.is(svc(table, 'a.example', '/Foo'), undefined, 'case-sensitive');
});

test('a trailing slash on a Prefix is ignored; / matches everything', (t) => {
  const table = new RouteTable([
    route('a.example', '/foo/', 'Prefix', 'foo'),
    route('b.example', '/', 'Prefix', 'root'),
  ]);
  t.is(svc(table, 'a.example', '/foo'), 'foo');
  t.is(svc(table, 'a.example', '/foo/x'), 'foo');
  t.is(svc(table, 'b.example', '/anything/at/all'), 'root');
  t.is(svc(table, 'b.example', '/'), 'root');
});

test('/aaa/bb does not match /aaa/bbb (Kubernetes docs example)', (t) => {
  const table = new RouteTable([route('h', '/aaa/bb', 'Prefix', 'bb')]);
  t.is(svc(table, 'h', '/aaa/bbb'), undefined);
  t.is(svc(table, 'h', '/aaa/bb/c'), 'bb');
});

test('Exact matches only the exact path, trailing slash included', (t) => {
  const table = new RouteTable([route('h', '/foo', 'Exact', 'exact')]);
  t.is(svc(table, 'h', '/foo'), 'exact');
  t.is(svc(table, 'h', '/foo/'), undefined);
  t.is(svc(table, 'h', '/foo/bar'), undefined);
});

test('the longest matching path wins, and Exact beats Prefix on a tie', (t) => {
  const table = new RouteTable([
    route('h', '/', 'Prefix', 'root'),
    route('h', '/api', 'Prefix', 'api'),
    route('h', '/api/v2', 'Prefix', 'v2'),
    route('h', '/api/v2', 'Exact', 'v2-exact'),
    route('h', '/api/v2/', 'ImplementationSpecific', 'impl'),
  ]);
  t.is(svc(table, 'h', '/api/v2'), 'v2-exact');
  t.is(svc(table, 'h', '/api/v2/users'), 'v2');
  t.is(svc(table, 'h', '/api/v1'), 'api');
  t.is(svc(table, 'h', '/web'), 'root');
});

test('hosts: exact beats wildcard beats any-host; a wildcard covers one label', (t) => {
  const table = new RouteTable([
    route('app.example.com', '/', 'Prefix', 'exact-host'),
    route('*.example.com', '/', 'Prefix', 'wildcard'),
    route('', '/', 'Prefix', 'any'),
  ]);
  t.is(svc(table, 'app.example.com', '/'), 'exact-host');
  t.is(svc(table, 'other.example.com', '/'), 'wildcard');
  t.is(svc(table, 'deep.other.example.com', '/'), 'any');
  t.is(svc(table, 'example.com', '/'), 'any');
});

test('a more specific host with no matching path falls through to broader hosts', (t) => {
  const table = new RouteTable([
    route('app.example.com', '/api', 'Prefix', 'api'),
    route('', '/', 'Prefix', 'any'),
  ]);
  t.is(svc(table, 'app.example.com', '/api/x'), 'api');
  t.is(svc(table, 'app.example.com', '/web'), 'any');
});

test('hosts are matched case-insensitively, without port or trailing dot', (t) => {
  const table = new RouteTable([route('app.example.com', '/', 'Prefix', 'web')]);
  t.is(svc(table, 'APP.Example.com:8443', '/'), 'web');
  t.is(svc(table, 'app.example.com.', '/'), 'web');
  t.is(svc(table, 'evil.com', '/'), undefined);
  t.is(normalizeHost('[::1]:8080'), '[::1]');
});

test('unknown hosts match nothing when there is no any-host rule', (t) => {
  const table = new RouteTable([route('a.example', '/', 'Prefix', 'a')]);
  t.is(table.match('b.example', '/'), undefined);
  t.is(table.size, 1);
});

test('two namespaces claiming one host + path: refused for both, whatever the order', (t) => {
  const a = route('h', '/', 'Prefix', 'from-a', 'aaa');
  const b = route('h', '/', 'Prefix', 'from-b', 'bbb');
  t.is(svc(new RouteTable([a, b]), 'h', '/'), undefined);
  t.is(svc(new RouteTable([b, a]), 'h', '/'), undefined);
  t.deepEqual(new RouteTable([b, a]).conflicts[0]?.namespaces, ['aaa', 'bbb']);
});

test('routesForHost lists the rules naming a host, exact before wildcard, never host-less ones', (t) => {
  const table = new RouteTable([
    route('', '/', 'Prefix', 'any'),
    route('*.example', '/', 'Prefix', 'wild'),
    route('a.example', '/x', 'Prefix', 'a'),
  ]);
  t.deepEqual(
    table.routesForHost('a.example').map((r) => r.service),
    ['a', 'wild'],
  );
  t.deepEqual(table.routesForHost('nobody.test'), []);
});
