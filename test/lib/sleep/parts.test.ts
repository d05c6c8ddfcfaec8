import test from 'ava';
import type { V1IngressRule, V1Service } from '@kubernetes/client-node';
import { mergeBackends } from '../../../lib/backends.js';
import { consumerBackoff } from '../../../lib/jetstream/topology.js';
import { exclusionOf } from '../../../lib/sleep/exclusion.js';
import { rewriteRules } from '../../../lib/sleep/ingress-rewrite.js';
import { servicesSelecting } from '../../../lib/sleep/selectors.js';
import { staleReason } from '../../../lib/sleep/staleness.js';
import { withOriginalBackends } from '../../../lib/upgrade/ingress-v01.js';
import { parseReplicasAnnotation, ReplicasAnnotationError } from '../../../lib/kube/workloads.js';

const rules: V1IngressRule[] = [
  {
    host: 'a.example.com',
    http: {
      paths: [
        { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
        { path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { name: 'http' } } } },
        {
          path: '/x',
          pathType: 'Prefix',
          backend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'b' } },
        },
      ],
    },
  },
  {
    http: {
      paths: [
        { pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 8080 } } } },
      ],
    },
  },
];

test('rewriteRules points the paths of the given Services at the route and records the originals', (t) => {
  const { rules: rewritten, records } = rewriteRules(rules, new Set(['web']));
  t.deepEqual(records, [
    {
      host: 'a.example.com',
      path: '/',
      pathType: 'Prefix',
      backend: { service: { name: 'web', port: { number: 80 } } },
    },
    {
      host: '',
      path: '',
      pathType: 'ImplementationSpecific',
      backend: { service: { name: 'web', port: { number: 8080 } } },
    },
  ]);
  const route = { service: { name: 'nozzle-activator', port: { number: 80 } } };
  t.deepEqual(
    rewritten[0]?.http?.paths.map((p) => p.backend),
    [route, rules[0]!.http!.paths[1]!.backend, rules[0]!.http!.paths[2]!.backend],
  );
  t.deepEqual(rewritten[1]?.http?.paths[0]?.backend, route);
  t.is(rules[0]!.http!.paths[0]!.backend.service!.name, 'web', 'the input is not modified');
  t.deepEqual(rewriteRules(rewritten, new Set(['web'])).records, [], 'rewriting again changes nothing');
});

test('two workloads sharing an Ingress: rewritten one after the other, restored exactly', (t) => {
  const first = rewriteRules(rules, new Set(['web']));
  const second = rewriteRules(first.rules, new Set(['api']));
  const recorded = mergeBackends(first.records, second.records);
  t.is(recorded.length, 3);
  t.deepEqual(withOriginalBackends(second.rules, recorded), JSON.parse(JSON.stringify(rules)));
});

test('restore leaves a path someone changed since the sleep alone', (t) => {
  const { rules: rewritten, records } = rewriteRules(rules, new Set(['web']));
  rewritten[0]!.http!.paths[0]!.backend = { service: { name: 'web-v2', port: { number: 80 } } };
  const restored = withOriginalBackends(rewritten, records);
  t.is(restored[0]?.http?.paths[0]?.backend.service?.name, 'web-v2');
  t.is(restored[1]?.http?.paths[0]?.backend.service?.name, 'web');
});

test('servicesSelecting: every selector pair must match; no selector selects nothing', (t) => {
  const svc = (name: string, selector?: Record<string, string>): V1Service => ({
    metadata: { name },
    spec: { ...(selector ? { selector } : {}) },
  });
  t.deepEqual(
    servicesSelecting(
      [
        svc('web', { app: 'web' }),
        svc('both', { app: 'web', tier: 'front' }),
        svc('other', { app: 'api' }),
        svc('manual'),
        svc('empty', {}),
      ],
      { app: 'web', tier: 'front', version: '2' },
    ),
    ['web', 'both'],
  );
});

test('staleReason: a decision before the last wake is stale', (t) => {
  const woke = { 'nozzle.io/woke-at': '2025-01-01T12:00:00Z' };
  t.regex(staleReason('2025-01-01T11:59:59.999Z', woke) ?? '', /before the namespace woke/);
  t.is(staleReason('2025-01-01T12:00:00Z', woke), undefined);
  t.regex(staleReason('2025-01-01T13:00:00+02:00', woke) ?? '', /before/, '13:00+02:00 is 11:00Z');
  t.is(staleReason('2025-01-01T11:00:00Z', undefined), undefined);
  t.is(staleReason('2025-01-01T11:00:00Z', { 'nozzle.io/woke-at': 'garbage' }), undefined);
});

test("exclusionOf reads nozzle.io/exclude as a boolean and knows Nozzle's own objects", (t) => {
  t.is(exclusionOf({}), undefined);
  t.is(exclusionOf({ annotations: { 'nozzle.io/exclude': 'False' } }), undefined);
  t.like(exclusionOf({ annotations: { 'nozzle.io/exclude': 'true' } }), { category: 'excluded' });
  t.like(exclusionOf({ annotations: { 'nozzle.io/exclude': 'yes please' } }), { category: 'invalid' });
  t.like(exclusionOf({ labels: { 'nozzle.io/managed': 'true' } }), { category: 'nozzle' });
});

test('nozzle.io/replicas is a whole number above 0', (t) => {
  t.is(parseReplicasAnnotation('3'), 3);
  for (const bad of ['0', '-1', '1.5', 'three', '', '01'])
    t.throws(() => parseReplicasAnnotation(bad), { instanceOf: ReplicasAnnotationError });
});

test('consumer backoff: the ack wait doubling, fewer entries than max_deliver', (t) => {
  t.deepEqual(consumerBackoff(1_000, 10), [1_000, 2_000, 4_000, 8_000, 16_000]);
  t.deepEqual(consumerBackoff(1_000, 3), [1_000, 2_000]);
  t.deepEqual(consumerBackoff(1_000, 1), []);
});
