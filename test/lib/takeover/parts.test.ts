/**
 * The pure parts of lib/takeover: which Services are taken over, how a
 * takeover slice looks, how a port is picked and how a port Lease is read.
 */
import test from 'ava';
import type { V1Lease, V1Service } from '@kubernetes/client-node';
import { selectingServices } from '../../../lib/takeover/selecting-services.js';
import {
  DEFAULT_PORT_RANGE,
  duplicateLeases,
  isInvalid,
  parsePortRange,
  portLease,
  probePort,
  readPortLease,
  staleReason,
  startPort,
  type PortLease,
} from '../../../lib/takeover/port-assignment.js';
import {
  endpointsMatch,
  sliceMatches,
  takeoverSlice,
  takeoverSliceName,
  takeoverSlices,
  type ActivatorPod,
} from '../../../lib/takeover/takeover-slice.js';

const svc = (name: string, spec: V1Service['spec'], uid = `uid-${name}`): V1Service => ({
  metadata: { name, namespace: 'shop', uid },
  spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
});

test('selectingServices: a non-empty selector that is a subset of the pod labels; headless and ExternalName skipped with a reason', (t) => {
  const pod = { app: 'web', tier: 'shop', version: '1' };
  const { takeover, skipped } = selectingServices(
    [
      svc('web', { selector: { app: 'web' } }),
      svc('web-alias', { selector: { app: 'web', tier: 'shop' } }),
      svc('other', { selector: { app: 'api' } }),
      svc('wider', { selector: { app: 'web', zone: 'a' } }),
      svc('manual', {}),
      svc('empty', { selector: {} }),
      svc('headless', { selector: { app: 'web' }, clusterIP: 'None' }),
      svc('external', { selector: { app: 'web' }, type: 'ExternalName', externalName: 'x.example.com' }),
      svc('portless', { selector: { app: 'web' }, ports: [] }),
    ],
    pod,
  );
  t.deepEqual(
    takeover.map((s) => s.metadata?.name),
    ['web', 'web-alias'],
  );
  t.deepEqual(
    skipped.map((s) => s.name),
    ['headless', 'external', 'portless'],
  );
  t.regex(skipped[0]!.reason, /headless .*podIP:targetPort/);
  t.regex(skipped[1]!.reason, /ExternalName/);
});

const pods: ActivatorPod[] = [
  { ip: '10.0.0.9', podName: 'activator-b', podUid: 'ub', namespace: 'nozzle-system', nodeName: 'n2' },
  { ip: 'fd00::9', podName: 'activator-b', podUid: 'ub', namespace: 'nozzle-system', nodeName: 'n2' },
  { ip: '10.0.0.1', podName: 'activator-a', podUid: 'ua', namespace: 'nozzle-system' },
];

const dualStack = svc('web', {
  selector: { app: 'web' },
  ipFamilies: ['IPv4', 'IPv6'],
  ports: [
    { name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http', targetPort: 8080 },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ],
});
const assigned = new Map([
  ['http', 20001],
  ['dns', 20002],
]);

test('takeoverSlice: labels, owner, ports with the activator ports, ready activator endpoints of the family', (t) => {
  const slices = takeoverSlices({ service: dualStack, activatorPods: pods, ports: assigned });
  t.deepEqual(
    slices.map((s) => [s.metadata?.name, s.addressType]),
    [
      ['web-nozzle-ipv4', 'IPv4'],
      ['web-nozzle-ipv6', 'IPv6'],
    ],
  );
  const [v4, v6] = slices;
  t.deepEqual(v4!.metadata?.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'nozzle.io',
    'nozzle.io/managed': 'true',
  });
  t.deepEqual(v4!.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web', controller: false },
  ]);
  t.deepEqual(v4!.ports, [
    { name: 'http', protocol: 'TCP', appProtocol: 'http', port: 20001 },
    { name: 'dns', protocol: 'UDP', port: 20002 },
  ]);
  t.deepEqual(v4!.endpoints, [
    {
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'nozzle-system', name: 'activator-a', uid: 'ua' },
    },
    {
      addresses: ['10.0.0.9'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'n2',
      targetRef: { kind: 'Pod', namespace: 'nozzle-system', name: 'activator-b', uid: 'ub' },
    },
  ]);
  t.deepEqual(
    v6!.endpoints?.map((e) => e.addresses),
    [['fd00::9']],
  );
  t.deepEqual(
    takeoverSlices({ service: svc('single', {}), activatorPods: pods, ports: new Map([['http', 1]]) }).map(
      (s) => s.addressType,
    ),
    ['IPv4'],
    'no ipFamilies: IPv4',
  );
  t.throws(() => takeoverSlice({ service: dualStack, activatorPods: pods, ports: new Map() }, 'IPv4'), {
    message: /no activator port assigned to port http of Service web/,
  });
});

test('sliceMatches / endpointsMatch: the same slice built again matches; other endpoints or ports do not', (t) => {
  const input = { service: dualStack, activatorPods: pods, ports: assigned };
  const built = takeoverSlice(input, 'IPv4');
  const reordered = takeoverSlice({ ...input, activatorPods: [...pods].reverse() }, 'IPv4');
  t.true(sliceMatches(reordered, built), 'pod order does not matter');
  t.true(
    sliceMatches(
      { ...built, metadata: { ...built.metadata, labels: { ...built.metadata?.labels, x: 'y' } } },
      built,
    ),
  );
  t.false(sliceMatches(takeoverSlice({ ...input, activatorPods: pods.slice(1) }, 'IPv4'), built));
  t.false(
    sliceMatches(takeoverSlice({ ...input, ports: new Map([...assigned, ['http', 20003]]) }, 'IPv4'), built),
  );
  t.true(endpointsMatch(built, pods));
  t.false(endpointsMatch(built, pods.slice(0, 2)));
});

test('takeoverSliceName: readable, at most 63 characters, distinct for long names that share a prefix', (t) => {
  t.is(takeoverSliceName('web', 'IPv6'), 'web-nozzle-ipv6');
  const a = takeoverSliceName(`${'a'.repeat(60)}-one`, 'IPv4');
  const b = takeoverSliceName(`${'a'.repeat(60)}-two`, 'IPv4');
  t.is(a.length, 63);
  t.not(a, b);
  t.regex(a, /^a+-[0-9a-f]{8}-nozzle-ipv4$/);
  t.is(takeoverSliceName(`${'a'.repeat(60)}-one`, 'IPv4'), a, 'deterministic');
});

test('port picking: a deterministic start within the range, probing upward and wrapping', (t) => {
  const target = { namespace: 'shop', service: 'web', servicePort: 'http' };
  const start = startPort(target);
  t.is(startPort(target), start);
  t.true(start >= 20000 && start <= 29999);
  t.not(startPort({ ...target, servicePort: 'https' }), start);
  const small = { first: 30000, last: 30002 };
  t.deepEqual(
    [0, 1, 2, 3].map((i) => probePort(30001, i, small)),
    [30001, 30002, 30000, 30001],
  );
  t.deepEqual(DEFAULT_PORT_RANGE, { first: 20000, last: 29999 });
  t.deepEqual(parsePortRange(' 21000 - 21009 '), { first: 21000, last: 21009 });
  for (const bad of ['21000', '300-400', '29999-20000', '20000-70000', 'a-b']) {
    t.throws(() => parsePortRange(bad), { message: /is not a port range/ }, bad);
  }
});

const fromCluster = (lease: V1Lease): V1Lease => ({
  ...lease,
  metadata: { ...lease.metadata, uid: 'lease-uid', resourceVersion: '7' },
});

test('readPortLease: a Lease Nozzle wrote reads back; each broken part is skipped with its reason', (t) => {
  const target = { namespace: 'shop', service: 'web', servicePort: 'http' };
  const good = fromCluster(portLease(target, 'svc-uid', 20017));
  t.deepEqual(readPortLease(good), {
    ...target,
    port: 20017,
    serviceUid: 'svc-uid',
    lease: 'nozzle-port-20017',
    uid: 'lease-uid',
    resourceVersion: '7',
  });
  const broken: [string, (l: V1Lease) => void, RegExp][] = [
    ['name', (l) => (l.metadata!.name = 'nozzle-port-http'), /name is not nozzle-port-<port/],
    ['port 0', (l) => (l.metadata!.name = 'nozzle-port-0'), /name is not/],
    ['port too big', (l) => (l.metadata!.name = 'nozzle-port-70000'), /name is not/],
    [
      'namespace',
      (l) => delete l.metadata!.labels!['nozzle.io/service-namespace'],
      /service-namespace is missing/,
    ],
    ['service', (l) => (l.metadata!.labels!['nozzle.io/service-name'] = ''), /service-name is missing/],
    ['port', (l) => delete l.metadata!.annotations!['nozzle.io/service-port'], /service-port is missing/],
    ['uid', (l) => delete l.metadata!.annotations!['nozzle.io/service-uid'], /service-uid is missing/],
    [
      'managed-by',
      (l) => delete l.metadata!.labels!['app.kubernetes.io/managed-by'],
      /managed-by is not nozzle.io/,
    ],
    [
      'holder',
      (l) => (l.spec = { holderIdentity: 'shop/api/http' }),
      /holderIdentity "shop\/api\/http" does not match/,
    ],
    ['no holder', (l) => delete l.spec, /holderIdentity null/],
  ];
  for (const [what, breakIt, reason] of broken) {
    const lease = structuredClone(good);
    breakIt(lease);
    const read = readPortLease(lease);
    t.true(isInvalid(read), what);
    if (isInvalid(read)) t.regex(read.reason, reason, what);
  }
});

const lease = (port: number, servicePort = 'http', serviceUid = 'u1'): PortLease => ({
  namespace: 'shop',
  service: 'web',
  servicePort,
  port,
  serviceUid,
  lease: `nozzle-port-${port}`,
  uid: `l${port}`,
  resourceVersion: '1',
});

test('duplicateLeases keeps the lowest port per service port and uid; staleReason names gone, recreated and removed ports', (t) => {
  const groups = duplicateLeases([
    lease(20009),
    lease(20003),
    lease(20005),
    lease(20001, 'grpc'),
    lease(20000, 'http', 'u0'),
  ]);
  t.deepEqual(
    groups.map((g) => [g.keep.port, g.extra.map((e) => e.port)]),
    [[20003, [20005, 20009]]],
  );
  const web = svc('web', {}, 'u1');
  const services = new Map([['web', web]]);
  t.is(staleReason(lease(20003), services), undefined);
  t.regex(staleReason(lease(20003), new Map()) ?? '', /Service shop\/web is gone/);
  t.regex(
    staleReason(lease(20000, 'http', 'u0'), services) ?? '',
    /was recreated \(uid u1, the Lease has u0\)/,
  );
  t.regex(staleReason(lease(20001, 'grpc'), services) ?? '', /has no port grpc any more/);
  const unnamed = svc('web', { ports: [{ port: 8080 }] }, 'u1');
  t.is(
    staleReason(lease(20002, '8080'), new Map([['web', unnamed]])),
    undefined,
    'an unnamed port by its number',
  );
});
