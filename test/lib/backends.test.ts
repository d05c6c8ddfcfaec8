/**
 * nozzle.io/backends records are keyed on host + pathType + path: an
 * `Exact /a` and a `Prefix /a` of one host are two Ingress paths, each with
 * its own backend, through merge, the annotation and the restore.
 */
import test from 'ava';
import type { V1IngressRule } from '@kubernetes/client-node';
import { mergeBackends, parseBackends, serializeBackends, type BackendRecord } from '../../lib/backends.js';
import { withOriginalBackends } from '../../lib/upgrade/ingress-v01.js';

/** What a 0.1 sleep did to an Ingress (its rewrite module is gone): paths to `services` -> nozzle-activator. */
function rewriteRules(rules: readonly V1IngressRule[], services: ReadonlySet<string>) {
  const plain = JSON.parse(JSON.stringify(rules)) as V1IngressRule[];
  const records: BackendRecord[] = [];
  for (const rule of plain) {
    for (const path of rule.http?.paths ?? []) {
      const service = path.backend.service?.name;
      if (service === undefined || !services.has(service)) continue;
      records.push({
        host: rule.host ?? '',
        path: path.path ?? '',
        pathType: path.pathType,
        backend: path.backend,
      });
      path.backend = { service: { name: 'nozzle-activator', port: { number: 80 } } };
    }
  }
  return { rules: plain, records };
}

const sameHostAndPath: V1IngressRule[] = [
  {
    host: 'shop.example',
    http: {
      paths: [
        { path: '/a', pathType: 'Exact', backend: { service: { name: 'svc1', port: { number: 80 } } } },
        { path: '/a', pathType: 'Prefix', backend: { service: { name: 'svc2', port: { number: 8080 } } } },
        {
          path: '/a',
          pathType: 'ImplementationSpecific',
          backend: { service: { name: 'svc3', port: { name: 'http' } } },
        },
      ],
    },
  },
];

test('merge keeps one record per host + pathType + path', (t) => {
  const first = rewriteRules(sameHostAndPath, new Set(['svc1']));
  const second = rewriteRules(first.rules, new Set(['svc2']));
  const third = rewriteRules(second.rules, new Set(['svc3']));
  let recorded = mergeBackends([], first.records);
  recorded = mergeBackends(recorded, second.records);
  recorded = mergeBackends(recorded, third.records);
  t.deepEqual(recorded.map((r) => `${r.pathType} ${r.path} -> ${r.backend.service?.name}`).sort(), [
    'Exact /a -> svc1',
    'ImplementationSpecific /a -> svc3',
    'Prefix /a -> svc2',
  ]);
  // A later record of an already recorded path (it can only be the activator) is ignored.
  const again = mergeBackends(recorded, rewriteRules(third.rules, new Set(['nozzle-activator'])).records);
  t.deepEqual(again, recorded);
});

test('restore round-trip: Exact /a and Prefix /a of one host each get their own backend back', (t) => {
  // Two workloads put to sleep one after the other on the same Ingress, the
  // annotation written and read back between them, as the sleep path does.
  const first = rewriteRules(sameHostAndPath, new Set(['svc1']));
  const annotation1 = serializeBackends(mergeBackends([], first.records));
  const second = rewriteRules(first.rules, new Set(['svc2', 'svc3']));
  const annotation2 = serializeBackends(mergeBackends(parseBackends(annotation1), second.records));
  t.true(second.rules[0]!.http!.paths.every((p) => p.backend.service?.name === 'nozzle-activator'));

  const restored = withOriginalBackends(second.rules, parseBackends(annotation2));
  t.deepEqual(restored, JSON.parse(JSON.stringify(sameHostAndPath)));
});

test('the annotation format is unchanged: records written before the key change still restore', (t) => {
  // As a Nozzle keyed on host + path wrote it (one record per path, pathType included).
  const old =
    '{"v":1,"paths":[{"host":"shop.example","path":"/a","pathType":"Exact",' +
    '"backend":{"service":{"name":"svc1","port":{"number":80}}}}]}';
  const rewritten = rewriteRules(sameHostAndPath.slice(0, 1), new Set(['svc1'])).rules;
  const restored = withOriginalBackends(rewritten, parseBackends(old));
  t.is(restored[0]!.http!.paths[0]!.backend.service?.name, 'svc1');
  t.is(restored[0]!.http!.paths[1]!.backend.service?.name, 'svc2', 'a path not recorded is left as is');
  t.is(serializeBackends(parseBackends(old)), old);
});
