import test from 'ava';
import { microTime } from '../../lib/kube/events.js';
import { wokeNote } from '../../lib/wake/event.js';

test('the Woke event note and MicroTime format', (t) => {
  t.is(wokeNote(3, 8_240), 'Woke: 3 workloads ready in 8.2s');
  t.is(wokeNote(1, 500), 'Woke: 1 workload ready in 0.5s');
  t.is(microTime(new Date('2025-01-02T03:04:05.678Z')), '2025-01-02T03:04:05.678000Z');
});
