import test from 'ava';
import { consumerBackoff } from '../../../lib/jetstream/topology.js';
import { exclusionOf } from '../../../lib/sleep/exclusion.js';
import { staleReason } from '../../../lib/sleep/staleness.js';
import { parseReplicasAnnotation, ReplicasAnnotationError } from '../../../lib/kube/workloads.js';

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
