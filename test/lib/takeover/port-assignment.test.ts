/**
 * lib/takeover/port-assignment.ts against the real apiserver: ports are
 * Leases, so uniqueness, reuse, repair and release are what the apiserver
 * makes of them. Each test has a Nozzle namespace of its own (the Leases'),
 * so tests running at once never see each other's ports.
 */
import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import {
  allAssignments,
  assignPorts,
  portLease,
  releaseStale,
  type PortRange,
} from '../../../lib/takeover/port-assignment.js';
import { isNotFound } from '../../../lib/errors.js';
import type { Kube } from '../../../lib/kube/client.js';
import { adminKube, uniqueName } from '../../support/env.js';
import { createNamespace } from '../../support/shop.js';

const kube = adminKube();

async function systemNamespace(): Promise<string> {
  return (await createNamespace(kube, 'nozzle-sys')).namespace;
}

function clusterIpService(name: string, ports = ['http', 'metrics']): V1Service {
  return {
    metadata: { name },
    spec: {
      selector: { app: name },
      ports: ports.map((port, i) => ({ name: port, port: 80 + i, targetPort: 8080 + i })),
    },
  };
}

const createService = (namespace: string, body: V1Service) =>
  kube.core.createNamespacedService({ namespace, body });

const leaseGone = (k: Kube, namespace: string, port: number) =>
  k.coordination.readNamespacedLease({ namespace, name: `nozzle-port-${port}` }).then(
    () => false,
    (err: unknown) => isNotFound(err),
  );

test('two workers assigning 20 Services at once never share a port, and agree on every port', async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-race');
  const services = await Promise.all(
    Array.from({ length: 20 }, (_, i) => createService(namespace, clusterIpService(`svc-${i}`))),
  );
  // 40 service ports in 60 ports: many start ports collide, so probing and the 409 path are exercised.
  const options = { systemNamespace: system, range: { first: 21000, last: 21059 } satisfies PortRange };
  const workers = [adminKube(), adminKube()];
  const results = await Promise.all(
    workers.map((worker) => Promise.all(services.map((service) => assignPorts(worker, options, service)))),
  );
  const [first, second] = results;
  for (let i = 0; i < services.length; i++) {
    t.deepEqual([...second![i]!.ports], [...first![i]!.ports], `svc-${i}: both workers got the same ports`);
  }
  const all = await allAssignments(kube, system);
  t.deepEqual(all.invalid, []);
  t.is(all.ports.size, 40, 'exactly one Lease per service port');
  const assigned = first!.flatMap((r) => [...r.ports.values()]);
  t.is(new Set(assigned).size, 40, 'no two service ports share a port');
  t.true(assigned.every((port) => port >= 21000 && port <= 21059));
  for (let i = 0; i < services.length; i++) {
    for (const [servicePort, port] of first![i]!.ports) {
      t.deepEqual(all.ports.get(port), { namespace, service: `svc-${i}`, servicePort });
    }
  }
  t.is(
    results.flat().reduce((n, r) => n + r.created.length, 0),
    40,
    'each port created once, by one of the workers',
  );
});

test('the same Service port assigned twice gets the same port, without a new Lease', async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-again');
  const service = await createService(namespace, clusterIpService('web', ['http']));
  const once = await assignPorts(kube, { systemNamespace: system }, service);
  const again = await assignPorts(kube, { systemNamespace: system }, service);
  const port = once.ports.get('http')!;
  t.true(port >= 20000 && port <= 29999);
  t.deepEqual(once.created, [port]);
  t.deepEqual([...again.ports], [['http', port]]);
  t.deepEqual(again.created, []);
  const lease = await kube.coordination.readNamespacedLease({
    namespace: system,
    name: `nozzle-port-${port}`,
  });
  t.is(lease.spec?.holderIdentity, `${namespace}/web/http`);
  t.deepEqual(lease.metadata?.labels, {
    'app.kubernetes.io/managed-by': 'nozzle.io',
    'nozzle.io/service-namespace': namespace,
    'nozzle.io/service-name': 'web',
  });
  t.deepEqual(lease.metadata?.annotations, {
    'nozzle.io/service-port': 'http',
    'nozzle.io/service-uid': service.metadata?.uid,
  });
});

test('two Leases for one Service port (a race): repaired to the lowest port, the other freed', async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-dup');
  const range = { first: 22000, last: 22099 };
  const service = await createService(namespace, clusterIpService('web', ['http']));
  const port = (await assignPorts(kube, { systemNamespace: system, range }, service)).ports.get('http')!;
  const other = port === range.first ? range.first + 1 : range.first;
  const target = { namespace, service: 'web', servicePort: 'http' };
  await kube.coordination.createNamespacedLease({
    namespace: system,
    body: portLease(target, service.metadata!.uid!, other),
  });

  const repaired = await assignPorts(kube, { systemNamespace: system, range }, service);
  const [kept, dropped] = [Math.min(port, other), Math.max(port, other)];
  t.deepEqual(repaired.repaired, [{ ...target, kept, released: [dropped] }]);
  t.deepEqual([...repaired.ports], [['http', kept]]);
  t.true(await leaseGone(kube, system, dropped));
  t.deepEqual([...(await allAssignments(kube, system)).ports.keys()], [kept]);
  t.deepEqual(
    (await assignPorts(kube, { systemNamespace: system, range }, service)).repaired,
    [],
    'repaired once',
  );
});

test("releaseStale frees a deleted Service's ports and keeps those of Services that exist", async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-gone');
  const gone = await createService(namespace, clusterIpService('gone'));
  const kept = await createService(namespace, clusterIpService('kept', ['http']));
  const goneSomewhereElse = await createNamespace(kube, 'ports-gone-ns');
  const elsewhere = await createService(goneSomewhereElse.namespace, clusterIpService('web', ['http']));
  const goneAssignment = await assignPorts(kube, { systemNamespace: system }, gone);
  const keptAssignment = await assignPorts(kube, { systemNamespace: system }, kept);
  const elsewherePort = (await assignPorts(kube, { systemNamespace: system }, elsewhere)).ports.get('http')!;
  await kube.core.deleteNamespacedService({ namespace, name: 'gone' });
  await kube.core.deleteNamespacedService({ namespace: goneSomewhereElse.namespace, name: 'web' });

  const result = await releaseStale(kube, system);
  t.deepEqual(
    result.released.map((r) => [r.port, r.service, r.servicePort]).sort(),
    [
      [goneAssignment.ports.get('http'), 'gone', 'http'],
      [goneAssignment.ports.get('metrics'), 'gone', 'metrics'],
      [elsewherePort, 'web', 'http'],
    ].sort(),
  );
  t.true(result.released.every((r) => /^Service \S+ is gone$/.test(r.reason)));
  t.deepEqual(
    [...(await allAssignments(kube, system)).ports.keys()],
    [...keptAssignment.ports.values()],
    "only the existing Service's port is still assigned",
  );
  t.deepEqual((await releaseStale(kube, system)).released, [], 'nothing left to free');
});

test('a recreated Service (new uid) does not reuse the old Lease; releaseStale frees the old one', async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-recreated');
  const old = await createService(namespace, clusterIpService('web', ['http']));
  const oldPort = (await assignPorts(kube, { systemNamespace: system }, old)).ports.get('http')!;
  await kube.core.deleteNamespacedService({ namespace, name: 'web' });
  const recreated = await createService(namespace, clusterIpService('web', ['http']));
  t.not(recreated.metadata?.uid, old.metadata?.uid);

  const fresh = await assignPorts(kube, { systemNamespace: system }, recreated);
  const newPort = fresh.ports.get('http')!;
  t.not(newPort, oldPort, 'the old Lease is not taken over by the new Service');
  const result = await releaseStale(kube, system);
  t.deepEqual(
    result.released.map((r) => r.port),
    [oldPort],
  );
  t.regex(result.released[0]!.reason, new RegExp(`was recreated \\(uid ${recreated.metadata!.uid}`));
  t.true(await leaseGone(kube, system, oldPort));
  t.deepEqual(
    [...(await allAssignments(kube, system)).ports],
    [[newPort, { namespace, service: 'web', servicePort: 'http' }]],
  );
});

test('an invalid Lease is skipped with its reason: never served, never reused, never freed', async (t) => {
  const system = await systemNamespace();
  const { namespace } = await createNamespace(kube, 'ports-invalid');
  const service = await createService(namespace, clusterIpService('web', ['http']));
  const target = { namespace, service: 'web', servicePort: 'http' };
  const noUid = portLease(target, 'x', 23456);
  delete noUid.metadata!.annotations!['nozzle.io/service-uid'];
  const badName = portLease(target, service.metadata!.uid!, 1);
  badName.metadata!.name = uniqueName('nozzle-port-x');
  for (const body of [noUid, badName])
    await kube.coordination.createNamespacedLease({ namespace: system, body });

  const all = await allAssignments(kube, system);
  t.is(all.ports.size, 0);
  t.deepEqual(all.invalid.map((i) => i.lease).sort(), [badName.metadata!.name, 'nozzle-port-23456'].sort());
  t.regex(
    all.invalid.find((i) => i.lease === 'nozzle-port-23456')!.reason,
    /nozzle.io\/service-uid is missing/,
  );
  t.regex(all.invalid.find((i) => i.lease !== 'nozzle-port-23456')!.reason, /name is not nozzle-port-<port/);

  const assigned = await assignPorts(kube, { systemNamespace: system }, service);
  t.is(assigned.invalid.length, 2, "the Service's invalid Leases are reported to the caller");
  t.not(assigned.ports.get('http'), 23456);
  t.deepEqual((await releaseStale(kube, system)).invalid.length, 2);
  t.false(await leaseGone(kube, system, 23456), 'left for a person to look at');
});
