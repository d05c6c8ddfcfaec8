/** lib/savings.ts and lib/sleep/slept-at.ts: quantities, a pod's requests, the sums over time. */
import test from 'ava';
import { parseQuantity, podRequests, savings } from '../../lib/savings.js';
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
