/**
 * Which Services lost the wake path of a sleeping workload (pure): one that
 * selects a workload Nozzle put to sleep, could be taken over and is not.
 */
import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import { servicesWithoutWakePath } from '../../../activator/convergence/wake-paths.js';
import type { Workload } from '../../../activator/convergence/namespace-objects.js';
import { deployment } from '../../support/shop.js';

const svc = (name: string, app: string, spec: V1Service['spec'] = {}): V1Service => ({
  metadata: { name },
  spec: { selector: { app }, ports: [{ name: 'http', port: 80 }], ...spec },
});
/** The ports of a takeover slice made for `svc`: http over TCP. */
const HTTP = new Set(['http/TCP']);
const asleep = (name: string): Workload => {
  const object = deployment(name, 0);
  object.metadata!.annotations = { 'nozzle.io/replicas': '2' };
  return { kind: 'Deployment', object };
};
const running = (name: string): Workload => ({ kind: 'Deployment', object: deployment(name, 2) });

test('a Service selecting a sleeping workload without a takeover has lost its wake path', (t) => {
  const services = [svc('web', 'web'), svc('web-admin', 'web'), svc('api', 'api')];
  t.deepEqual(servicesWithoutWakePath(services, [asleep('web'), running('api')], new Map([['web', HTTP]])), [
    'web-admin',
  ]);
});

test('not lost: taken over, selecting nothing asleep, or a Service that cannot be taken over', (t) => {
  const services = [
    svc('web', 'web'),
    svc('other', 'other'),
    svc('headless', 'web', { clusterIP: 'None' }),
    svc('external', 'web', { type: 'ExternalName', externalName: 'example.com' }),
    { metadata: { name: 'no-selector' }, spec: { ports: [{ port: 80 }] } },
  ];
  t.deepEqual(
    servicesWithoutWakePath(services, [asleep('web'), running('other')], new Map([['web', HTTP]])),
    [],
  );
  const scaledByHand: Workload = { kind: 'Deployment', object: deployment('other', 0) };
  t.deepEqual(
    servicesWithoutWakePath(services, [scaledByHand], new Map()),
    [],
    'at 0 without a backup: not Nozzle’s',
  );
});

test('a port added while asleep, which the takeover slice does not carry, is a lost wake path', (t) => {
  const twoPorts = svc('web', 'web', {
    ports: [
      { name: 'http', port: 80 },
      { name: 'admin', port: 8080 },
    ],
  });
  t.deepEqual(servicesWithoutWakePath([twoPorts], [asleep('web')], new Map([['web', HTTP]])), ['web']);
  const both = new Map([['web', new Set(['http/TCP', 'admin/TCP'])]]);
  t.deepEqual(servicesWithoutWakePath([twoPorts], [asleep('web')], both), []);
  const udp = svc('web', 'web', { ports: [{ name: 'http', port: 80, protocol: 'UDP' }] });
  t.deepEqual(
    servicesWithoutWakePath([udp], [asleep('web')], new Map([['web', HTTP]])),
    ['web'],
    'by protocol too',
  );
});
