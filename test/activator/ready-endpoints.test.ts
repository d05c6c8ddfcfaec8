/**
 * Where a Service port forwards to, from its EndpointSlices: ready endpoints
 * only, Nozzle's takeover slices ignored, named target ports resolved per
 * slice, several slices and both address families.
 */
import test from 'ava';
import type { DiscoveryV1EndpointPort, V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { readyEndpoints, type ServicePortTarget } from '../../activator/ready-endpoints.js';

const CONTROLLER = 'endpointslice-controller.k8s.io';

interface SliceSpec {
  readonly service?: string;
  readonly managedBy?: string;
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly ports?: DiscoveryV1EndpointPort[];
  readonly endpoints: [address: string, ready?: boolean, serving?: boolean][];
}

let sliceCount = 0;
function slice(spec: SliceSpec): V1EndpointSlice {
  const endpoints: V1Endpoint[] = spec.endpoints.map(([address, ready, serving]) => ({
    addresses: [address],
    conditions: { ready, serving: serving ?? ready, terminating: false },
  }));
  return {
    metadata: {
      name: `web-${sliceCount++}`,
      labels: {
        'kubernetes.io/service-name': spec.service ?? 'web',
        'endpointslice.kubernetes.io/managed-by': spec.managedBy ?? CONTROLLER,
      },
    },
    addressType: spec.addressType ?? 'IPv4',
    ports: spec.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  };
}

const http: ServicePortTarget = { service: 'web', port: { name: 'http', port: 80, targetPort: 'http' } };
const addresses = (slices: V1EndpointSlice[], target = http): string[] =>
  readyEndpoints(slices, target).map((e) => e.address);

test('only ready endpoints: serving-but-not-ready and not-ready are never used', (t) => {
  const slices = [
    slice({
      endpoints: [
        ['10.0.0.1', true],
        ['10.0.0.2', false, true], // serving, not ready (terminating or failing its probe)
        ['10.0.0.3', false, false],
        ['10.0.0.4', true],
      ],
    }),
  ];
  t.deepEqual(addresses(slices), ['10.0.0.1:8080', '10.0.0.4:8080']);
  t.deepEqual(readyEndpoints(slices, http)[0], {
    ip: '10.0.0.1',
    port: 8080,
    family: 4,
    address: '10.0.0.1:8080',
  });
});

test('none ready: none at all', (t) => {
  t.deepEqual(addresses([slice({ endpoints: [['10.0.0.2', false, true]] })]), []);
  t.deepEqual(addresses([]), []);
});

test("Nozzle's takeover slices are ignored; other managers' slices count", (t) => {
  const slices = [
    slice({ managedBy: 'nozzle.io', endpoints: [['10.9.9.9', true]] }),
    slice({ managedBy: 'endpointslicemirroring-controller.k8s.io', endpoints: [['10.0.0.7', true]] }),
    slice({ endpoints: [['10.0.0.1', true]] }),
  ];
  t.deepEqual(addresses(slices), ['10.0.0.7:8080', '10.0.0.1:8080']);
});

test("another Service's slices are ignored", (t) => {
  const slices = [
    slice({ service: 'api', endpoints: [['10.0.0.5', true]] }),
    slice({ endpoints: [['10.0.0.1', true]] }),
  ];
  t.deepEqual(addresses(slices), ['10.0.0.1:8080']);
});

test('a named target port is resolved from each slice: pods may number it differently', (t) => {
  const slices = [
    slice({
      ports: [
        { name: 'metrics', port: 9090, protocol: 'TCP' },
        { name: 'http', port: 8080, protocol: 'TCP' },
      ],
      endpoints: [['10.0.0.1', true]],
    }),
    slice({ ports: [{ name: 'http', port: 3000, protocol: 'TCP' }], endpoints: [['10.0.0.2', true]] }),
    // This slice's pods do not have the port: nothing to forward to there.
    slice({ ports: [{ name: 'metrics', port: 9090, protocol: 'TCP' }], endpoints: [['10.0.0.3', true]] }),
  ];
  t.deepEqual(addresses(slices), ['10.0.0.1:8080', '10.0.0.2:3000']);
  t.deepEqual(
    addresses(slices, { service: 'web', port: { name: 'metrics', port: 9100, targetPort: 9090 } }),
    ['10.0.0.1:9090', '10.0.0.3:9090'],
  );
});

test("an unnamed Service port matches the slice's unnamed port; protocols must match", (t) => {
  const slices = [
    slice({ ports: [{ port: 5432, protocol: 'TCP' }], endpoints: [['10.0.0.1', true]] }),
    slice({ ports: [{ name: '', port: 5433 }], endpoints: [['10.0.0.2', true]] }),
    slice({ ports: [{ name: '', port: 53, protocol: 'UDP' }], endpoints: [['10.0.0.3', true]] }),
  ];
  t.deepEqual(addresses(slices, { service: 'web', port: { port: 5432, targetPort: 5432 } }), [
    '10.0.0.1:5432',
    '10.0.0.2:5433',
  ]);
});

test('a slice port without a number ("all ports") takes the numeric targetPort, or the port', (t) => {
  const slices = [slice({ ports: [{ name: 'http' }], endpoints: [['10.0.0.1', true]] })];
  t.deepEqual(addresses(slices, { service: 'web', port: { name: 'http', port: 80, targetPort: 8081 } }), [
    '10.0.0.1:8081',
  ]);
  t.deepEqual(addresses(slices, { service: 'web', port: { name: 'http', port: 80 } }), ['10.0.0.1:80']);
  t.deepEqual(addresses(slices), [], 'a named targetPort cannot be resolved without a number');
});

test('several slices and dual-stack: every ready address once, IPv6 bracketed', (t) => {
  const slices = [
    slice({ endpoints: [['10.0.0.1', true]] }),
    slice({
      endpoints: [
        ['10.0.0.2', true],
        ['10.0.0.1', true],
      ],
    }), // moving between slices
    slice({
      addressType: 'IPv6',
      endpoints: [
        ['fd00::1', true],
        ['fd00::2', false],
      ],
    }),
    slice({ addressType: 'FQDN', endpoints: [['db.example.com', true]] }),
  ];
  const ready = readyEndpoints(slices, http);
  t.deepEqual(
    ready.map((e) => e.address),
    ['10.0.0.1:8080', '10.0.0.2:8080', '[fd00::1]:8080'],
  );
  t.deepEqual(ready[2], { ip: 'fd00::1', port: 8080, family: 6, address: '[fd00::1]:8080' });
});

test('never the ClusterIP, and never an address of the wrong family', (t) => {
  const slices = [
    slice({
      endpoints: [
        ['10.96.0.10', true],
        ['10.0.0.1', true],
        ['fd00::1', true],
      ],
    }),
    slice({
      addressType: 'IPv6',
      endpoints: [
        ['fd00:96::10', true],
        ['10.0.0.9', true],
      ],
    }),
  ];
  t.deepEqual(addresses(slices, { ...http, clusterIPs: ['10.96.0.10', 'fd00:96::10'] }), ['10.0.0.1:8080']);
});

test('an endpoint with ready unset counts as ready (discovery.k8s.io/v1)', (t) => {
  const s = slice({ endpoints: [['10.0.0.1']] });
  s.endpoints![0]!.conditions = {};
  t.deepEqual(addresses([s]), ['10.0.0.1:8080']);
});
