import test from 'ava';
import { explainNamespace, type ExplainFacts } from '../../publisher/explain.js';
import type { WorkloadFacts } from '../../publisher/policy.js';

// 2025-06-02T12:00Z is a Monday; Europe/Paris is UTC+2.
const now = new Date('2025-06-02T12:00:00Z');
const ago = (m: number): string => new Date(now.getTime() - m * 60_000).toISOString();
const web = (replicas: number, annotations?: Record<string, string>): WorkloadFacts => ({
  kind: 'Deployment',
  namespace: 'shop',
  name: 'web',
  replicas,
  ...(annotations ? { annotations } : {}),
});
const facts = (
  annotations: Record<string, string>,
  workloads = [web(2)],
  extra: Partial<ExplainFacts> = {},
): ExplainFacts => ({
  namespace: { name: 'shop', annotations },
  workloads,
  defaultIdleAfter: 30 * 60_000,
  systemNamespace: 'nozzle-system',
  period: 5 * 60_000,
  ...extra,
});

test('awake and active: sleeps idle-after after its last activity', (t) => {
  const e = explainNamespace(facts({ 'nozzle.io/woke-at': ago(10) }), now);
  t.is(e.state, 'awake');
  t.deepEqual(e.lastActivity, { at: new Date(ago(10)), source: 'wake', detail: 'woke (nozzle.io/woke-at)' });
  t.like(e.next, { action: 'sleep', at: new Date(ago(-20)) });
  t.regex(e.next.reason, /^no activity for 30m by then/);
});

test('traffic is the last activity when it is the newest', (t) => {
  const traffic = {
    counted: true,
    lastRequest: new Map([['shop', Date.parse(ago(2))]]),
    source: 'traefik',
  } as const;
  const e = explainNamespace(facts({ 'nozzle.io/woke-at': ago(10) }, [web(2)], { traffic }), now);
  t.like(e.lastActivity, { source: 'traffic', detail: 'requests seen by traefik' });
  t.deepEqual(e.next.at, new Date(ago(-28)));
});

test('a sleep schedule earlier than the idle time is the next sleep', (t) => {
  const e = explainNamespace(
    facts({
      'nozzle.io/woke-at': ago(1),
      'nozzle.io/sleep-schedule': '15 14 * * MON-FRI',
      'nozzle.io/timezone': 'Europe/Paris',
    }),
    now,
  );
  t.deepEqual(e.next, {
    action: 'sleep',
    at: new Date('2025-06-02T12:15:00Z'),
    reason: 'sleep schedule "15 14 * * MON-FRI" (Europe/Paris)',
  });
});

test('due now: sleeps at the next round, with the reason', (t) => {
  const e = explainNamespace(facts({ 'nozzle.io/woke-at': ago(45) }), now);
  t.like(e.next, { action: 'sleep', at: now });
  t.regex(e.next.reason, /^idle for 45m/);
});

test('asleep: the next wake is the wake schedule, or none', (t) => {
  const asleep = [web(0, { 'nozzle.io/replicas': '2' })];
  const scheduled = explainNamespace(facts({ 'nozzle.io/wake-schedule': '30 7 * * MON-FRI' }, asleep), now);
  t.is(scheduled.state, 'asleep');
  t.deepEqual(scheduled.next, {
    action: 'wake',
    at: new Date('2025-06-03T07:30:00Z'),
    reason: 'wake schedule "30 7 * * MON-FRI" (UTC)',
  });
  t.deepEqual(explainNamespace(facts({}, asleep), now).next, {
    action: 'none',
    reason: 'asleep until a request arrives or someone wakes it',
  });
});

test('kept awake: no sleep before keep-awake-until plus idle-after, and no schedule before it', (t) => {
  const until = ago(-120);
  const e = explainNamespace(
    facts({ 'nozzle.io/keep-awake-until': until, 'nozzle.io/sleep-schedule': '0 13 * * *' }),
    now,
  );
  t.like(e.lastActivity, { source: 'keep-awake-until' });
  // Today's 13:00 is inside the keep-awake period: the next sleep is idle-after past keep-awake-until, 14:30.
  t.deepEqual(e.next.at, new Date(ago(-150)));
  t.regex(e.next.reason, /^no activity for 30m by then/);
  const longIdle = explainNamespace(
    facts({
      'nozzle.io/keep-awake-until': until,
      'nozzle.io/sleep-schedule': '0 13 * * *',
      'nozzle.io/idle-after': '1d',
    }),
    now,
  );
  t.deepEqual(longIdle.next.at, new Date('2025-06-03T13:00:00Z'), 'the schedule after keep-awake-until');
});

test('invalid annotations, unknown traffic and Nozzle itself: no action, with the reason', (t) => {
  t.deepEqual(explainNamespace(facts({ 'nozzle.io/idle-after': 'soon' }), now).next.action, 'none');
  t.regex(
    explainNamespace(facts({ 'nozzle.io/idle-after': 'soon' }), now).next.reason,
    /nozzle.io\/idle-after "soon"/,
  );
  const unknown = explainNamespace(
    facts({}, [web(1)], { traffic: { counted: false, unavailable: 'timeout: slow' } }),
    now,
  );
  t.deepEqual(unknown.next, { action: 'none', reason: 'traffic unknown this round: timeout: slow' });
  t.deepEqual(explainNamespace(facts({}, [web(1)], { systemNamespace: 'shop' }), now).next, {
    action: 'none',
    reason: `Nozzle's own namespace`,
  });
  t.is(explainNamespace(facts({}, [web(1, { 'nozzle.io/exclude': 'true' })]), now).next.action, 'none');
});
