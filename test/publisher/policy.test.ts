import test from 'ava';
import { decide, type NamespaceFacts, type WorkloadFacts } from '../../publisher/policy.js';

const now = new Date('2025-06-01T12:00:00Z');
const options = { now, defaultIdleAfter: 30 * 60_000, systemNamespace: 'nozzle-system' };
const minutesAgo = (m: number): string => new Date(now.getTime() - m * 60_000).toISOString();

const ns = (
  name: string,
  annotations?: Record<string, string>,
  labels?: Record<string, string>,
): NamespaceFacts => ({
  name,
  ...(annotations ? { annotations } : {}),
  ...(labels ? { labels } : {}),
});
const deploy = (namespace: string, name: string, extra: Partial<WorkloadFacts> = {}): WorkloadFacts => ({
  kind: 'Deployment',
  namespace,
  name,
  replicas: 2,
  ...extra,
});

const verdict = (namespaces: NamespaceFacts[], workload: WorkloadFacts) => {
  const decisions = decide(namespaces, [workload], options);
  return decisions.due.length === 1 ? 'due' : decisions.skipped[0];
};

test('a namespace never stamped with woke-at is due', (t) => {
  const decisions = decide([ns('a')], [deploy('a', 'web')], options);
  t.deepEqual(decisions.due, [{ workload: deploy('a', 'web'), wokeAt: undefined }]);
  t.is(decisions.considered, 1);
});

test('due only once awake for at least idle-after (default from the setting)', (t) => {
  t.is(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(31) })], deploy('a', 'web')), 'due');
  t.is(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(30) })], deploy('a', 'web')), 'due');
  t.like(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(29) })], deploy('a', 'web')), {
    category: 'awake',
    reason: 'awake for 29m of 30m',
  });
});

test('the namespace idle-after annotation overrides the default', (t) => {
  const woke = { 'nozzle.io/woke-at': minutesAgo(10) };
  t.is(verdict([ns('a', { ...woke, 'nozzle.io/idle-after': '5m' })], deploy('a', 'web')), 'due');
  t.like(verdict([ns('a', { ...woke, 'nozzle.io/idle-after': '1h' })], deploy('a', 'web')), {
    category: 'awake',
  });
});

test('the decision carries the woke-at that names it', (t) => {
  const wokeAt = minutesAgo(45);
  t.deepEqual(
    decide([ns('a', { 'nozzle.io/woke-at': wokeAt })], [deploy('a', 'web')], options).due[0]?.wokeAt,
    wokeAt,
  );
});

test('invalid annotations skip with the reason, never crash and never sleep', (t) => {
  t.like(verdict([ns('a', { 'nozzle.io/idle-after': 'abc' })], deploy('a', 'web')), {
    category: 'invalid',
  });
  const bad = verdict([ns('a', { 'nozzle.io/idle-after': '30' })], deploy('a', 'web'));
  t.true(bad !== 'due' && bad?.category === 'invalid' && bad.reason.includes('nozzle.io/idle-after "30"'));
  t.like(verdict([ns('a', { 'nozzle.io/woke-at': 'last tuesday' })], deploy('a', 'web')), {
    category: 'invalid',
    reason: 'namespace a: nozzle.io/woke-at "last tuesday" is not an RFC 3339 date-time',
  });
  t.like(verdict([ns('a')], deploy('a', 'web', { annotations: { 'nozzle.io/exclude': 'maybe' } })), {
    category: 'invalid',
  });
});

test('replicas 0 is asleep already; absent replicas means 1', (t) => {
  t.like(verdict([ns('a')], deploy('a', 'web', { replicas: 0 })), { category: 'asleep' });
  t.is(verdict([ns('a')], deploy('a', 'web', { replicas: undefined })), 'due');
});

test('excluded workloads and anything of Nozzle are never due', (t) => {
  t.like(verdict([ns('a')], deploy('a', 'web', { annotations: { 'nozzle.io/exclude': 'true' } })), {
    category: 'excluded',
  });
  t.is(verdict([ns('a')], deploy('a', 'web', { annotations: { 'nozzle.io/exclude': 'false' } })), 'due');
  t.like(verdict([ns('a')], deploy('a', 'web', { labels: { 'nozzle.io/managed': 'true' } })), {
    category: 'nozzle',
  });
  t.like(verdict([ns('nozzle-system')], deploy('nozzle-system', 'nozzle-activator')), { category: 'nozzle' });
  t.like(verdict([ns('a', undefined, { 'nozzle.io/managed': 'true' })], deploy('a', 'web')), {
    category: 'nozzle',
  });
});

test('workloads outside the opted-in namespaces are not considered at all', (t) => {
  const decisions = decide(
    [ns('a')],
    [deploy('a', 'web'), deploy('b', 'web'), { ...deploy('a', 'db'), kind: 'StatefulSet' }],
    options,
  );
  t.is(decisions.considered, 2);
  t.deepEqual(
    decisions.due.map((d) => `${d.workload.namespace}/${d.workload.kind}/${d.workload.name}`),
    ['a/Deployment/web', 'a/StatefulSet/db'],
  );
});

test('many namespaces with mixed states give one decision each', (t) => {
  const namespaces = Array.from({ length: 100 }, (_, i) =>
    ns(`n${i}`, i % 2 === 0 ? { 'nozzle.io/woke-at': minutesAgo(i) } : undefined),
  );
  const workloads = namespaces.map((n) => deploy(n.name, 'web'));
  const decisions = decide(namespaces, workloads, options);
  t.is(decisions.due.length + decisions.skipped.length, 100);
  // odd: never stamped (50); even with i >= 30 minutes ago: 30, 32, ..., 98 (35)
  t.is(decisions.due.length, 50 + 35);
  t.true(decisions.skipped.every((s) => s.category === 'awake'));
});
