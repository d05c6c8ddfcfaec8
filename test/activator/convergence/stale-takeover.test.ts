/**
 * The stale-takeover decision, pure: a settled takeover with no ready
 * endpoints of its own is removed only when its Service selects no workload
 * that sleeps or runs; one in front of a sleeping workload never is.
 */
import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import { staleReason } from '../../../activator/convergence/stale-takeover.js';
import { isAsleep, type Workload } from '../../../activator/convergence/namespace-objects.js';

const service = (selector?: Record<string, string>): V1Service => ({
  metadata: { name: 'web' },
  spec: { ...(selector ? { selector } : {}), ports: [{ port: 80 }] },
});

function workload(
  name: string,
  replicas: number | undefined,
  backup: string | undefined,
  labels: Record<string, string> = { app: name },
  kind: Workload['kind'] = 'Deployment',
): Workload {
  return {
    kind,
    object: {
      metadata: { name, ...(backup === undefined ? {} : { annotations: { 'nozzle.io/replicas': backup } }) },
      spec: {
        ...(replicas === undefined ? {} : { replicas }),
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [] } },
      },
    },
  };
}

const asleep = (name: string, labels?: Record<string, string>) => workload(name, 0, '3', labels);

test('isAsleep: 0 replicas with the backup, nothing else', (t) => {
  t.true(isAsleep(asleep('web')));
  t.false(isAsleep(workload('web', 0, undefined)), 'at 0 without a backup: scaled down by someone else');
  t.false(isAsleep(workload('web', 2, '3')), 'running with a stale backup');
  t.false(isAsleep(workload('web', undefined, '3')), 'no replicas field: 1');
});

test('stale: the Service is gone, selects nothing, or selects only workloads at 0 without a backup', (t) => {
  t.is(staleReason('web', undefined, [asleep('web')]), 'Service web is gone');
  t.is(staleReason('web', service({ app: 'web' }), []), 'Service web selects no Deployment or StatefulSet');
  t.is(
    staleReason('web', service(), [asleep('web')]),
    'Service web selects no Deployment or StatefulSet',
    'no selector selects nothing',
  );
  t.is(
    staleReason('web', service({ app: 'web' }), [asleep('api'), asleep('other', { app: 'web2' })]),
    'Service web selects no Deployment or StatefulSet',
    'sleeping workloads of other Services do not count',
  );
  t.is(
    staleReason('web', service({ app: 'web' }), [
      workload('web', 0, undefined),
      workload('web-db', 0, undefined, { app: 'web', tier: 'db' }, 'StatefulSet'),
    ]),
    'Service web selects only workloads at 0 replicas without nozzle.io/replicas (scaled down outside Nozzle): Deployment web, StatefulSet web-db',
  );
});

test('kept: a selected workload that runs (a wake whose pods are not ready yet still holds through it)', (t) => {
  t.is(staleReason('web', service({ app: 'web' }), [workload('web', 2, undefined)]), undefined);
  t.is(staleReason('web', service({ app: 'web' }), [workload('web', undefined, undefined)]), undefined);
  t.is(
    staleReason('web', service({ app: 'web' }), [workload('web', 0, undefined), workload('web', 1, '3')]),
    undefined,
  );
});

test('NEVER stale while the Service selects a sleeping workload, whatever else the namespace holds', (t) => {
  const others: Workload[] = [
    workload('web', 0, undefined),
    workload('web', 2, undefined),
    workload('web', 0, undefined, { app: 'web', v: '2' }, 'StatefulSet'),
    workload('api', 0, undefined),
    asleep('api'),
    workload('static', 0, '1', {}),
  ];
  const sleeping = [
    asleep('web'),
    asleep('web-extra', { app: 'web', tier: 'x' }),
    { ...asleep('web-db'), kind: 'StatefulSet' as const, object: asleep('web-db', { app: 'web' }).object },
  ];
  let cases = 0;
  for (const one of sleeping) {
    // Every subset of the others, the sleeping one first, last and between.
    for (let mask = 0; mask < 1 << others.length; mask++) {
      const subset = others.filter((_, i) => mask & (1 << i));
      for (let at = 0; at <= subset.length; at++) {
        const workloads = [...subset.slice(0, at), one, ...subset.slice(at)];
        if (staleReason('web', service({ app: 'web' }), workloads) !== undefined) {
          t.fail(
            `removed in front of ${one.object.metadata?.name}: ${workloads.map((w) => w.object.metadata?.name).join()}`,
          );
        }
        cases++;
      }
    }
  }
  t.true(cases > 500, `${cases} cases`);
});
