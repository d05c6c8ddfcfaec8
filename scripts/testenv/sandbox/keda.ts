/**
 * KEDA as its Helm chart runs it, on the node: the operator (which makes its
 * own CA and certificates on first start) and the metrics adapter,
 * registered with the aggregation layer as v1beta1.external.metrics.k8s.io,
 * so the HPA controller reads the nats-jetstream scaler's metric and scales
 * the worker 1 -> N, while the operator itself scales 0 <-> 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { ManagedProcess } from '../servers/process.js';
import { freePort } from '../servers/ports.js';
import { probe } from '../servers/http.js';
import { applyObjects } from '../servers/apply.js';
import { NODE_IP } from './network/netns.js';
import { publishNodeService } from './node-services.js';
import { servingCert, type SandboxCerts } from './certs.js';

export const KEDA_NAMESPACE = 'keda';
const OPERATOR_SERVICE = 'keda-operator';
const ADAPTER_SERVICE = 'keda-operator-metrics-apiserver';

export interface KedaBinaries {
  readonly kedaOperator: string;
  readonly kedaAdapter: string;
}

export async function startKeda(
  binaries: KedaBinaries,
  dir: string,
  kubeconfig: string,
  config: KubeConfig,
  certs: SandboxCerts,
  progress: (line: string) => void,
): Promise<ManagedProcess[]> {
  const certDir = join(dir, 'keda-certs');
  mkdirSync(certDir, { recursive: true });
  await applyObjects(config, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: KEDA_NAMESPACE } }]);
  const [metrics, health, grpc] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    // controller-runtime's own config loading (the adapter's lister) reads it.
    KUBECONFIG: kubeconfig,
    WATCH_NAMESPACE: '',
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
  };
  const startOperator = (): ManagedProcess =>
    ManagedProcess.start(
      'keda-operator',
      binaries.kedaOperator,
      [
        `--kubeconfig=${kubeconfig}`,
        `--metrics-bind-address=127.0.0.1:${metrics}`,
        `--health-probe-bind-address=127.0.0.1:${health}`,
        `--metrics-service-bind-address=${NODE_IP}:${grpc}`,
        '--enable-cert-rotation=true',
        `--cert-dir=${certDir}`,
        '--enable-webhook-patching=false',
        // The adapter serves with a certificate from the cluster CA, which
        // the APIService names: the operator's own certificate covers only
        // its gRPC Service's names.
        '--enable-apiservice-patching=false',
        '--zap-log-level=info',
      ],
      { logFile: join(dir, 'keda-operator.log'), env },
    );
  progress('starting the KEDA operator');
  // On its first start KEDA writes its certificates into the kedaorg-certs
  // Secret and exits, for the kubelet to mount the Secret at --cert-dir and
  // restart it. Do what the kubelet does: mount it, restart it.
  let operator = startOperator();
  const core = config.makeApiClient(CoreV1Api);
  const secret = (): Promise<V1Secret | undefined> =>
    core.readNamespacedSecret({ name: 'kedaorg-certs', namespace: KEDA_NAMESPACE }).catch(() => undefined);
  const deadline = Date.now() + 120_000;
  while (operator.running && !(await secret())?.data?.['tls.crt']) {
    if (Date.now() > deadline) throw new Error(`KEDA wrote no certificates:\n${operator.tail()}`);
    await sleep(100);
  }
  await operator.stop();
  const kedaCerts = await secret();
  if (!kedaCerts?.data?.['tls.crt'])
    throw new Error(`KEDA exited before writing its certificates:\n${operator.tail()}`);
  for (const [key, value] of Object.entries(kedaCerts.data)) {
    writeFileSync(join(certDir, key), Buffer.from(value, 'base64'), { mode: 0o600 });
  }
  await publishNodeService(config, {
    namespace: KEDA_NAMESPACE,
    name: OPERATOR_SERVICE,
    ports: [{ name: 'metricsservice', port: 9666, targetPort: grpc }],
  });
  operator = startOperator();
  const processes = [operator];
  try {
    await operator.waitUntil(
      'ready',
      async () => (await probe(`http://127.0.0.1:${health}/readyz`)) === 200,
      120_000,
    );

    progress("starting KEDA's metrics adapter");
    const adapterPort = await freePort();
    const serving = servingCert(certs, 'keda-adapter', [
      `${ADAPTER_SERVICE}.${KEDA_NAMESPACE}.svc`,
      `${ADAPTER_SERVICE}.${KEDA_NAMESPACE}.svc.cluster.local`,
    ]);
    const adapter = ManagedProcess.start(
      'keda-adapter',
      binaries.kedaAdapter,
      [
        `--lister-kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--secure-port=${adapterPort}`,
        `--bind-address=${NODE_IP}`,
        `--cert-dir=${certDir}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--metrics-service-address=${NODE_IP}:${grpc}`,
        `--metrics-service-grpc-authority=${OPERATOR_SERVICE}.${KEDA_NAMESPACE}.svc.cluster.local`,
      ],
      { logFile: join(dir, 'keda-adapter.log'), env },
    );
    processes.push(adapter);
    await adapter.waitUntil(
      'serving',
      async () => (await probe(`https://${NODE_IP}:${adapterPort}/readyz`, { insecure: true })) !== 0,
      120_000,
    );
    await publishNodeService(config, {
      namespace: KEDA_NAMESPACE,
      name: ADAPTER_SERVICE,
      ports: [{ name: 'https', port: 443, targetPort: adapterPort }],
    });
    await applyObjects(config, [
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: 'v1beta1.external.metrics.k8s.io' },
        spec: {
          service: { name: ADAPTER_SERVICE, namespace: KEDA_NAMESPACE, port: 443 },
          group: 'external.metrics.k8s.io',
          version: 'v1beta1',
          groupPriorityMinimum: 100,
          versionPriority: 100,
          caBundle: Buffer.from(certs.caPem).toString('base64'),
        },
      } as never,
    ]);
    return processes;
  } catch (err) {
    for (const p of processes.reverse()) await p.stop();
    throw err;
  }
}
