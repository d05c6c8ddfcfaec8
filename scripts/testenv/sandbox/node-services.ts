/**
 * Services whose backends run on the node rather than in pods (CoreDNS,
 * Prometheus, KEDA's metrics adapter and gRPC server): a Service without a
 * selector and an EndpointSlice naming the node's address, as a cluster
 * that runs them out of band would publish them. Pods then reach them by
 * their usual names, through cluster DNS and kube-proxy.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { applyObjects } from '../servers/apply.js';
import { NODE_IP } from './network/netns.js';

export interface NodePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol?: 'TCP' | 'UDP';
}

export async function publishNodeService(
  config: KubeConfig,
  service: { namespace: string; name: string; clusterIP?: string; ports: readonly NodePort[] },
): Promise<void> {
  await applyObjects(config, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: service.namespace } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: service.name, namespace: service.namespace },
      spec: {
        ...(service.clusterIP ? { clusterIP: service.clusterIP } : {}),
        ports: service.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.targetPort,
          protocol: p.protocol ?? 'TCP',
        })),
      },
    } as never,
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${service.name}-node`,
        namespace: service.namespace,
        labels: {
          'kubernetes.io/service-name': service.name,
          'endpointslice.kubernetes.io/managed-by': 'sandbox.nozzle.test',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
      ports: service.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol ?? 'TCP' })),
    } as never,
  ]);
}
