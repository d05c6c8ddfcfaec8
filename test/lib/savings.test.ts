/** lib/savings.ts and lib/sleep/slept-at.ts: quantities, a pod's requests, the sums over time, their accrual from round to round. */
import test from 'ava';
import { accrue, parseQuantity, podRequests, savings } from '../../lib/savings.js';
import { sleptAt } from '../../lib/sleep/slept-at.js';

test('Kubernetes quantities', (t) => {
  t.is(parseQuantity('250m'), 0.25);
  t.is(parseQuantity('1.5'), 1.5);
  t.is(parseQuantity('64Mi'), 64 * 2 ** 20);
  t.is(parseQuantity('1G'), 1e9);
  t.is(parseQuantity('5e3'), 5000);
  t.is(parseQuantity('12 apples'), undefined);
});

test("a pod's requests: the containers' sum, or the largest init container's", (t) => {
  t.deepEqual(
    podRequests({
      containers: [
        { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        { name: 'b', resources: { requests: { cpu: '200m' } } },
      ],
      initContainers: [{ name: 'i', resources: { requests: { cpu: '50m', memory: '1Gi' } } }],
    }),
    { cpu: 0.30000000000000004, memory: 2 ** 30 },
  );
  t.deepEqual(podRequests(undefined), { cpu: 0, memory: 0 });
});

test('savings: replicas x requests now, and x seconds asleep; an unknown start counts only now', (t) => {
  const now = new Date('2025-01-01T12:00:00Z');
  const result = savings(
    [
      { replicas: 2, perPod: { cpu: 0.5, memory: 100 }, since: new Date('2025-01-01T11:00:00Z') },
      { replicas: 1, perPod: { cpu: 1, memory: 10 }, since: undefined },
    ],
    now,
  );
  t.deepEqual(result, {
    notRunning: { cpu: 2, memory: 210 },
    cpuCoreSeconds: 3600,
    memoryByteSeconds: 720_000,
  });
});

test("slept-at: the time of Nozzle's write of the backup, from managedFields", (t) => {
  const entry = (manager: string, time: string, key: string) => ({
    manager,
    operation: 'Update',
    time: new Date(time),
    fieldsV1: { 'f:metadata': { 'f:annotations': { [key]: {} } } },
  });
  const metadata = {
    annotations: { 'nozzle.io/replicas': '3' },
    managedFields: [
      entry('kubectl', '2025-01-01T09:00:00Z', 'f:nozzle.io/replicas'),
      entry('nozzle', '2025-01-01T10:00:00Z', 'f:other'),
      entry('nozzle', '2025-01-01T11:00:00Z', 'f:nozzle.io/replicas'),
    ],
  };
  t.deepEqual(sleptAt(metadata), new Date('2025-01-01T11:00:00Z'));
  t.is(sleptAt({ ...metadata, annotations: {} }), undefined, 'awake: no sleep time');
});

const asleep = (key: string, since: string | undefined, replicas = 2) => ({
  key,
  namespace: key.split('/')[1]!,
  replicas,
  perPod: { cpu: 0.5, memory: 100 },
  since: since === undefined ? undefined : new Date(since),
});
const at = (time: string) => new Date(`2025-01-01T${time}Z`);

test('accrue: the first round of a process adds nothing, then each round adds rate x time since the previous', (t) => {
  const first = accrue(
    undefined,
    [asleep('Deployment/a/web', '2025-01-01T09:00:00Z')],
    new Map(),
    at('10:00:00'),
  );
  t.deepEqual([...first.added], []);
  const second = accrue(
    first.ledger,
    [asleep('Deployment/a/web', '2025-01-01T09:00:00Z')],
    new Map(),
    at('10:01:00'),
  );
  // 2 replicas x 0.5 cores x 60 s; 2 x 100 bytes x 60 s.
  t.deepEqual([...second.added], [['a', { cpuCoreSeconds: 60, memoryByteSeconds: 12_000 }]]);
  t.deepEqual(second.ledger.at, at('10:01:00'));
});

test('accrue: a workload put to sleep between rounds counts from its sleep; an unknown start counts from the next round', (t) => {
  const { ledger } = accrue(undefined, [], new Map(), at('10:00:00'));
  const next = accrue(
    ledger,
    [asleep('Deployment/a/web', '2025-01-01T10:00:30Z'), asleep('Deployment/b/web', undefined)],
    new Map(),
    at('10:01:00'),
  );
  t.deepEqual([...next.added], [['a', { cpuCoreSeconds: 30, memoryByteSeconds: 6_000 }]]);
  const after = accrue(next.ledger, [asleep('Deployment/b/web', undefined)], new Map(), at('10:02:00'));
  t.deepEqual(after.added.get('b'), { cpuCoreSeconds: 60, memoryByteSeconds: 12_000 });
});

test('accrue: woken between rounds counts until the wake; without a known wake, nothing', (t) => {
  const start = accrue(
    undefined,
    [asleep('Deployment/a/web', '2025-01-01T09:00:00Z'), asleep('Deployment/b/web', '2025-01-01T09:00:00Z')],
    new Map(),
    at('10:00:00'),
  );
  const woke = new Map([['a', at('10:00:20')]]);
  const next = accrue(start.ledger, [], woke, at('10:01:00'));
  t.deepEqual([...next.added], [['a', { cpuCoreSeconds: 20, memoryByteSeconds: 4_000 }]]);
  t.is(next.ledger.asleep.size, 0);
});

test('accrue: woken and put back to sleep between rounds: until the wake, then from the new sleep', (t) => {
  const start = accrue(
    undefined,
    [asleep('Deployment/a/web', '2025-01-01T09:00:00Z')],
    new Map(),
    at('10:00:00'),
  );
  const next = accrue(
    start.ledger,
    [asleep('Deployment/a/web', '2025-01-01T10:00:40Z', 4)],
    new Map([['a', at('10:00:10')]]),
    at('10:01:00'),
  );
  // 1 core/s for 10 s, then 2 cores/s for 20 s.
  t.deepEqual(next.added.get('a'), { cpuCoreSeconds: 10 + 40, memoryByteSeconds: 2_000 + 8_000 });
});
