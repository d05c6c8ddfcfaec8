/** Port Leases -> port -> target -> listeners, with a fake feed and fake listeners. */
import test from 'ava';
import type { V1Lease } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { PortTable, portTargets } from '../../activator/port-table.js';
import { createActivatorMetrics } from '../../activator/metrics.js';
import type { ListWatchHandlers } from '../../lib/kube/list-watch.js';
import { portLease, type PortTarget } from '../../lib/takeover/port-assignment.js';
import { metric, silentLog } from '../support/activator.js';

const read = (lease: V1Lease): V1Lease => ({
  ...lease,
  metadata: { ...lease.metadata, uid: 'u', resourceVersion: '1' },
});
const web = { namespace: 'shop', service: 'web', servicePort: 'http' };
const api = { namespace: 'shop', service: 'api', servicePort: '8080' };

test('valid Leases become port -> target; the others are skipped with their reason', (t) => {
  const broken = read(portLease(web, 'uid-web', 20002));
  broken.spec = { holderIdentity: 'someone/else' };
  const { ports, invalid } = portTargets([
    read(portLease(web, 'uid-web', 20001)),
    read(portLease(api, 'uid-api', 20003)),
    broken,
  ]);
  t.deepEqual(
    [...ports],
    [
      [20001, web],
      [20003, api],
    ],
  );
  t.deepEqual(
    invalid.map((i) => i.lease),
    ['nozzle-port-20002'],
  );
  t.regex(invalid[0]!.reason, /holderIdentity/);
});

test('every change reconciles the listeners; invalid Leases are counted', async (t) => {
  const registry = new Registry();
  const reconciled: Map<number, PortTarget>[] = [];
  let handlers!: ListWatchHandlers<V1Lease>;
  const table = new PortTable(
    {
      log: silentLog,
      metrics: createActivatorMetrics(registry),
      listeners: {
        reconcile: (desired) => {
          reconciled.push(new Map(desired));
          return Promise.resolve({ opened: [...desired.keys()], closed: [], retargeted: [], failed: [] });
        },
        ports: () => [...(reconciled.at(-1)?.keys() ?? [])],
      },
    },
    (h) => {
      handlers = h;
      return [
        {
          start: () => undefined,
          stop: () => Promise.resolve(),
          synced: true,
          whenSynced: () => Promise.resolve(),
        },
      ];
    },
  );
  const invalid = read(portLease(web, 'uid-web', 20009));
  invalid.metadata!.annotations = {};
  handlers.replace([read(portLease(web, 'uid-web', 20001)), invalid]);
  handlers.upsert(read(portLease(api, 'uid-api', 20003)));
  handlers.remove(read(portLease(web, 'uid-web', 20001)));
  await table.whenSynced();
  t.deepEqual(
    reconciled.map((m) => [...m.keys()]),
    [[20001], [20001, 20003], [20003]],
  );
  t.is(await metric(registry, 'nozzle_activator_invalid_port_leases'), 1);
  t.is(await metric(registry, 'nozzle_activator_listeners'), 1);
});
