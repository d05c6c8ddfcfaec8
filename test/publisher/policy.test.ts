import test from 'ava';
import { decide, type NamespaceFacts, type WorkloadFacts } from '../../publisher/policy.js';

const now = new Date('2025-06-01T12:00:00Z');
const options = { now, defaultIdleAfter: 30 * 60_000, systemNamespace: 'nozzle-system', period: 5 * 60_000 };
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
  t.deepEqual(decisions.due, [{ workload: deploy('a', 'web'), wokeAt: undefined, reason: 'idle' }]);
  t.is(decisions.considered, 1);
});

test('due only once idle (since its last wake) for at least idle-after (default from the setting)', (t) => {
  t.is(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(31) })], deploy('a', 'web')), 'due');
  t.is(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(30) })], deploy('a', 'web')), 'due');
  t.like(verdict([ns('a', { 'nozzle.io/woke-at': minutesAgo(29) })], deploy('a', 'web')), {
    category: 'awake',
    reason: 'idle for 29m of 30m (last: woke (nozzle.io/woke-at))',
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

// --- Activity (design.md, "Policy"): the newest of traffic, changes, the last wake and keep-awake-until.

const traffic = (entries: Record<string, number>) =>
  ({ counted: true, lastRequest: new Map(Object.entries(entries)), source: 'traefik' }) as const;
const withTraffic = (t: ReturnType<typeof traffic> | { counted: false; unavailable: string }) => ({
  ...options,
  traffic: t,
});
const at = (m: number): number => now.getTime() - m * 60_000;

test('a request within idle-after keeps a namespace awake; none for idle-after puts it to sleep', (t) => {
  const woke = ns('a', { 'nozzle.io/woke-at': minutesAgo(120) });
  const busy = decide([woke], [deploy('a', 'web')], withTraffic(traffic({ a: at(10) })));
  t.is(busy.due.length, 0);
  t.regex(busy.skipped[0]!.reason, /^idle for 10m of 30m \(last: requests seen by traefik\)$/);
  const quiet = decide([woke], [deploy('a', 'web')], withTraffic(traffic({ a: at(31) })));
  t.like(quiet.due[0], { reason: 'idle' });
  // Another namespace's traffic does not count.
  t.is(decide([woke], [deploy('a', 'web')], withTraffic(traffic({ b: at(1) }))).due.length, 1);
});

test('a change in the namespace (labelled, rolled out, a pod created) counts as activity', (t) => {
  const changed = (m: number): NamespaceFacts => ({
    name: 'a',
    changed: { at: at(m), source: 'change', detail: 'pod web-1 created' },
  });
  // Just labelled (or a pod just created): not before idle-after.
  t.like(verdict([changed(1)], deploy('a', 'web')), { category: 'awake' });
  t.regex((verdict([changed(1)], deploy('a', 'web')) as { reason: string }).reason, /pod web-1 created/);
  t.is(verdict([changed(30)], deploy('a', 'web')), 'due');
});

test('keep-awake-until in the future keeps a namespace awake, even against its sleep schedule', (t) => {
  const keep = new Date(now.getTime() + 3_600_000).toISOString();
  t.like(
    verdict(
      [ns('a', { 'nozzle.io/keep-awake-until': keep, 'nozzle.io/sleep-schedule': '0 12 * * *' })],
      deploy('a', 'web'),
    ),
    { category: 'awake', reason: `kept awake until ${keep} (nozzle.io/keep-awake-until)` },
  );
  // In the past, it is activity at that time: idle-after counts from it.
  t.like(verdict([ns('a', { 'nozzle.io/keep-awake-until': minutesAgo(10) })], deploy('a', 'web')), {
    category: 'awake',
  });
  t.is(verdict([ns('a', { 'nozzle.io/keep-awake-until': minutesAgo(40) })], deploy('a', 'web')), 'due');
});

test('traffic that cannot be read puts nothing to sleep, with the reason', (t) => {
  const down = withTraffic({ counted: false, unavailable: 'timeout: no answer' });
  const decisions = decide(
    [ns('a'), ns('b', { 'nozzle.io/woke-at': minutesAgo(600) })],
    [deploy('a', 'web'), deploy('b', 'web')],
    down,
  );
  t.is(decisions.due.length, 0);
  t.deepEqual(
    decisions.skipped.map((s) => [s.category, s.reason]),
    [
      ['unknown', 'traffic unknown this round: timeout: no answer'],
      ['unknown', 'traffic unknown this round: timeout: no answer'],
    ],
  );
});

// --- Schedules: `now` is 2025-06-01T12:00Z, a Sunday; Europe/Paris is UTC+2 then.

test('a sleep schedule that fired since the last round puts a busy namespace to sleep', (t) => {
  const busy = traffic({ a: at(0) });
  const sched = (cron: string, extra: Record<string, string> = {}) =>
    decide(
      [ns('a', { 'nozzle.io/sleep-schedule': cron, ...extra })],
      [deploy('a', 'web')],
      withTraffic(busy),
    );
  t.like(sched('0 12 * * *').due[0], { reason: 'schedule' });
  t.like(sched('57 11 * * *').due[0], { reason: 'schedule' }); // 3 minutes ago, within the 5m period
  t.is(sched('54 11 * * *').due.length, 0); // 6 minutes ago: the previous round's business
  t.is(sched('1 12 * * *').due.length, 0); // not yet
  // In the namespace's time zone: 14:00 in Paris is 12:00 UTC.
  t.like(sched('0 14 * * *', { 'nozzle.io/timezone': 'Europe/Paris' }).due[0], { reason: 'schedule' });
  t.is(sched('0 12 * * *', { 'nozzle.io/timezone': 'Europe/Paris' }).due.length, 0);
  // Weekdays only: today is Sunday.
  t.is(sched('0 12 * * MON-FRI').due.length, 0);
  t.like(sched('0 12 * * SUN').due[0], { reason: 'schedule' });
});

test('a sleep schedule does not undo a wake that came after it', (t) => {
  const cron = { 'nozzle.io/sleep-schedule': '58 11 * * *' };
  t.is(
    verdict([ns('a', { ...cron, 'nozzle.io/woke-at': minutesAgo(1) })], deploy('a', 'web')) === 'due',
    false,
  );
  t.like(
    decide([ns('a', { ...cron, 'nozzle.io/woke-at': minutesAgo(3) })], [deploy('a', 'web')], options).due[0],
    { reason: 'schedule' },
  );
});

const sleeping = (namespace: string): WorkloadFacts =>
  deploy(namespace, 'web', { replicas: 0, annotations: { 'nozzle.io/replicas': '2' } });

test('a wake schedule that fired since the last round wakes a sleeping namespace, once per scheduled minute', (t) => {
  const wake = (cron: string, extra: Record<string, string> = {}, workload = sleeping('a')) =>
    decide([ns('a', { 'nozzle.io/wake-schedule': cron, ...extra })], [workload], options).wakes;
  t.deepEqual(wake('58 11 * * *'), [{ namespace: 'a', at: at(2) }]);
  t.deepEqual(wake('30 7 * * *', { 'nozzle.io/timezone': 'America/New_York' }), []);
  t.deepEqual(wake('58 7 * * *', { 'nozzle.io/timezone': 'America/New_York' }), [
    { namespace: 'a', at: at(2) },
  ]);
  t.deepEqual(wake('50 11 * * *'), [], 'fired before the last round');
  t.deepEqual(wake('58 11 * * *', { 'nozzle.io/woke-at': minutesAgo(1) }), [], 'woken since');
  t.deepEqual(wake('58 11 * * *', {}, deploy('a', 'web')), [], 'awake: nothing to wake');
  // Every minute of the window: the newest scheduled minute, one message.
  t.deepEqual(wake('* * * * *'), [{ namespace: 'a', at: at(0) }]);
});

test('sleep and wake schedules in the same window: the later one wins', (t) => {
  const both = (sleepAt: string, wakeAt: string) =>
    decide(
      [ns('a', { 'nozzle.io/sleep-schedule': sleepAt, 'nozzle.io/wake-schedule': wakeAt })],
      [deploy('a', 'web'), sleeping('a')],
      withTraffic(traffic({ a: at(0) })),
    );
  const sleepLater = both('59 11 * * *', '57 11 * * *');
  t.is(sleepLater.due.length, 1);
  t.deepEqual(sleepLater.wakes, []);
  const wakeLater = both('57 11 * * *', '59 11 * * *');
  t.is(wakeLater.due.length, 0);
  t.deepEqual(wakeLater.wakes, [{ namespace: 'a', at: at(1) }]);
});

test('an invalid schedule or time zone skips the namespace with the reason', (t) => {
  t.like(verdict([ns('a', { 'nozzle.io/sleep-schedule': '0 25 * * *' })], deploy('a', 'web')), {
    category: 'invalid',
    reason: 'namespace a: nozzle.io/sleep-schedule "0 25 * * *": hour "25": 25 is out of range 0-23',
  });
  t.like(verdict([ns('a', { 'nozzle.io/wake-schedule': 'every day' })], deploy('a', 'web')), {
    category: 'invalid',
  });
  const zone = verdict([ns('a', { 'nozzle.io/timezone': 'Mars/Olympus' })], deploy('a', 'web'));
  t.true(zone !== 'due' && zone?.category === 'invalid' && zone.reason.includes('is not an IANA time zone'));
  t.like(verdict([ns('a', { 'nozzle.io/keep-awake-until': 'tomorrow' })], deploy('a', 'web')), {
    category: 'invalid',
  });
  // Never woken by an invalid wake schedule either.
  t.deepEqual(
    decide([ns('a', { 'nozzle.io/wake-schedule': '61 * * * *' })], [sleeping('a')], options).wakes,
    [],
  );
});
