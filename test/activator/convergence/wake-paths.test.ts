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
  spec: { selector: { app }, ports: [{ port: 80 }], ...spec },
});
const asleep = (name: string): Workload => {
  const object = deployment(name, 0);
  object.metadata!.annotations = { 'nozzle.io/replicas': '2' };
  return { kind: 'Deployment', object };
};
const running = (name: string): Workload => ({ kind: 'Deployment', object: deployment(name, 2) });

test('a Service selecting a sleeping workload without a takeover has lost its wake path', (t) => {
  const services = [svc('web', 'web'), svc('web-admin', 'web'), svc('api', 'api')];
  t.deepEqual(servicesWithoutWakePath(services, [asleep('web'), running('api')], new Set(['web'])), [
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
  t.deepEqual(servicesWithoutWakePath(services, [asleep('web'), running('other')], new Set(['web'])), []);
  const scaledByHand: Workload = { kind: 'Deployment', object: deployment('other', 0) };
  t.deepEqual(
    servicesWithoutWakePath(services, [scaledByHand], new Set()),
    [],
    'at 0 without a backup: not Nozzle’s',
  );
});
