/**
 * The gateway controller a user's traffic arrives through: Traefik v3 on the
 * node, with its Kubernetes Ingress provider (Ingresses without a class) and
 * its Kubernetes Gateway provider (the Gateway API standard-channel CRDs, a
 * GatewayClass and one Gateway whose HTTP listener accepts HTTPRoutes from
 * every namespace). It reads EndpointSlices and sends traffic to pod IPs, as
 * in a cluster; its Prometheus metrics carry router and service labels.
 */
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from '../servers/process.js';
import { probe } from '../servers/http.js';
import { applyDirectory, applyObjects } from '../servers/apply.js';
import { NODE_IP } from './network/netns.js';

export const GATEWAY_NAMESPACE = 'gateway-system';
export const GATEWAY_NAME = 'sandbox';
export const GATEWAY_PORT = 80;
/** Traefik's metrics and ping, read by Prometheus on the node. */
export const TRAEFIK_METRICS = '127.0.0.1:9100';

export interface Gateway {
  readonly process: ManagedProcess;
  /** `namespace/name` of the Gateway HTTPRoutes attach to. */
  readonly gateway: string;
}

export async function startGateway(
  binaries: { traefik: string; gatewayApiCrds: string },
  dir: string,
  apiserver: { url: string; token: string; caFile: string },
  config: KubeConfig,
): Promise<Gateway> {
  await applyDirectory(config, binaries.gatewayApiCrds);
  const kube = (provider: string): string[] => [
    `--providers.${provider}=true`,
    `--providers.${provider}.endpoint=${apiserver.url}`,
    `--providers.${provider}.token=${apiserver.token}`,
    `--providers.${provider}.certAuthFilePath=${apiserver.caFile}`,
  ];
  const traefik = ManagedProcess.start(
    'traefik',
    binaries.traefik,
    [
      `--entryPoints.web.address=:${GATEWAY_PORT}`,
      `--entryPoints.metrics.address=${TRAEFIK_METRICS}`,
      '--ping=true',
      '--ping.entryPoint=metrics',
      '--metrics.prometheus=true',
      '--metrics.prometheus.entryPoint=metrics',
      '--metrics.prometheus.addEntryPointsLabels=true',
      '--metrics.prometheus.addRoutersLabels=true',
      '--metrics.prometheus.addServicesLabels=true',
      ...kube('kubernetesingress'),
      // Traefik's default, said out loud: Nozzle's takeover needs no ExternalName backend.
      '--providers.kubernetesingress.allowExternalNameServices=false',
      ...kube('kubernetesgateway'),
      `--providers.kubernetesgateway.statusAddress.ip=${NODE_IP}`,
      '--log.level=INFO',
      '--log.noColor=true',
      '--accesslog=true',
    ],
    { logFile: join(dir, 'traefik.log') },
  );
  await traefik.waitUntil(
    'serving',
    async () => (await probe(`http://${TRAEFIK_METRICS}/ping`)) === 200,
    60_000,
  );
  await applyObjects(config, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY_NAMESPACE } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'traefik' },
      spec: { controllerName: 'traefik.io/gateway-controller' },
    } as never,
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE },
      spec: {
        gatewayClassName: 'traefik',
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: GATEWAY_PORT,
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    } as never,
  ]);
  return { process: traefik, gateway: `${GATEWAY_NAMESPACE}/${GATEWAY_NAME}` };
}
