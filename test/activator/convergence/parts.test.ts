/**
 * The leader's pure parts: who may hold the leader Lease, what a holder
 * writes, which activator pods count, and when a takeover slice has settled.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Lease, V1Pod } from '@kubernetes/client-node';
import { heldLease, mayHold } from '../../../activator/convergence/leader-election.js';
import { ensuredAt, settlesInMs } from '../../../activator/convergence/woken-elsewhere.js';
import { readyActivatorPods } from '../../../lib/takeover/activator-pods.js';

const now = new Date('2030-01-01T00:00:30Z');
const lease = (holder: string, renewed: string, seconds = 15): V1Lease => ({
  metadata: { name: 'nozzle-activator-leader' },
  spec: { holderIdentity: holder, renewTime: new Date(renewed), leaseDurationSeconds: seconds },
});

test('mayHold: free, ours or expired; never another live holder', (t) => {
  t.true(mayHold(lease('', '2030-01-01T00:00:29Z'), 'a', now), 'released');
  t.true(mayHold(lease('a', '2030-01-01T00:00:29Z'), 'a', now), 'ours: renew');
  t.false(mayHold(lease('b', '2030-01-01T00:00:20Z'), 'a', now), 'b renewed 10 s ago, 15 s lease');
  t.true(mayHold(lease('b', '2030-01-01T00:00:14Z'), 'a', now), 'b expired 1 s ago');
});

test('heldLease: taking counts a transition and sets acquireTime; renewing keeps them', (t) => {
  const taken = heldLease(lease('b', '2030-01-01T00:00:00Z'), 'a', now, 15_000);
  t.is(taken.spec?.holderIdentity, 'a');
  t.is(taken.spec?.leaseTransitions, 1);
  t.is(new Date(taken.spec!.acquireTime!).getTime(), now.getTime());
  t.is(taken.spec?.leaseDurationSeconds, 15);
  const later = new Date(now.getTime() + 2_000);
  const renewed = heldLease(taken, 'a', later, 15_000);
  t.is(renewed.spec?.leaseTransitions, 1);
  t.is(new Date(renewed.spec!.acquireTime!).getTime(), now.getTime());
  t.is(new Date(renewed.spec!.renewTime!).getTime(), later.getTime());
  t.is(heldLease(undefined, 'a', now, 15_000).spec?.leaseTransitions, 0, 'created');
});

const pod = (name: string, ip: string | undefined, ready: boolean, deleting = false): V1Pod => ({
  metadata: {
    name,
    uid: `uid-${name}`,
    namespace: 'nozzle-system',
    ...(deleting ? { deletionTimestamp: now } : {}),
  },
  spec: { nodeName: 'n1', containers: [] },
  status: {
    ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

test('readyActivatorPods: Ready, not terminating, with an IP; sorted by IP', (t) => {
  const pods = readyActivatorPods([
    pod('b', '10.0.0.9', true),
    pod('a', '10.0.0.2', true),
    pod('unready', '10.0.0.3', false),
    pod('leaving', '10.0.0.4', true, true),
    pod('pending', undefined, true),
  ]);
  t.deepEqual(
    pods.map((p) => [p.podName, p.ip, p.podUid, p.nodeName]),
    [
      ['a', '10.0.0.2', 'uid-a', 'n1'],
      ['b', '10.0.0.9', 'uid-b', 'n1'],
    ],
  );
});

test('settle: counted from nozzle.io/ensured-at, else the creation time', (t) => {
  const slice = (annotation?: string): V1EndpointSlice => ({
    addressType: 'IPv4',
    endpoints: [],
    metadata: {
      creationTimestamp: new Date('2030-01-01T00:00:00Z'),
      ...(annotation ? { annotations: { 'nozzle.io/ensured-at': annotation } } : {}),
    },
  });
  t.is(ensuredAt(slice())?.toISOString(), '2030-01-01T00:00:00.000Z');
  t.is(settlesInMs(slice(), now, 60_000), 30_000, 'created 30 s ago, 60 s settle');
  t.is(settlesInMs(slice('2030-01-01T00:00:29Z'), now, 60_000), 59_000, 'ensured again 1 s ago');
  t.true(settlesInMs(slice('not a time'), now, 10_000) <= 0, 'unreadable: the creation time');
});
