/**
 * The rest of the control plane on the node: kube-controller-manager (the
 * controllers a cluster runs for workloads, Services, Jobs and CronJobs,
 * volumes and the HPA), kube-scheduler, and kwok keeping one Node alive.
 * kwok's pod stages are switched off (one stage that matches no pod stands
 * in for them), so pods are the kubelet stand-in's alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from '../servers/process.js';
import { freePort } from '../servers/ports.js';
import { probe } from '../servers/http.js';
import { applyObjects } from '../servers/apply.js';
import { NODE_IP, POD_CIDR } from './network/netns.js';

export const NODE_NAME = 'sandbox-node-0';

const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'job-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
  'disruption-controller',
  'horizontal-pod-autoscaler-controller',
  'node-lifecycle-controller',
  'persistentvolume-binder-controller',
  'pod-garbage-collector-controller',
];

const insecure = { insecure: true } as const;

async function startComponent(
  name: string,
  binary: string,
  dir: string,
  kubeconfig: string,
  extra: readonly string[],
): Promise<ManagedProcess> {
  const port = await freePort();
  const child = ManagedProcess.start(
    name,
    binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      ...extra,
    ],
    { logFile: join(dir, `${name}.log`) },
  );
  await child.waitUntil(
    'healthy',
    async () => (await probe(`https://127.0.0.1:${port}/healthz`, insecure)) === 200,
  );
  return child;
}

export async function startControllers(
  binaries: { kubeControllerManager: string; kubeScheduler: string },
  dir: string,
  kubeconfig: string,
  files: { caCert: string; caKey: string; saKey: string },
): Promise<ManagedProcess[]> {
  return Promise.all([
    startComponent('kube-controller-manager', binaries.kubeControllerManager, dir, kubeconfig, [
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${files.saKey}`,
      `--root-ca-file=${files.caCert}`,
      `--cluster-signing-cert-file=${files.caCert}`,
      `--cluster-signing-key-file=${files.caKey}`,
      '--use-service-account-credentials=false',
      // The HPA's sync period (default 15s): the e2e run watches the worker
      // go 1 -> N within a short burst of messages.
      '--horizontal-pod-autoscaler-sync-period=5s',
    ]),
    startComponent('kube-scheduler', binaries.kubeScheduler, dir, kubeconfig, []),
  ]);
}

/** kwok's configuration: its default node stages, and no pod stage that can ever match. */
const KWOK_STAGES = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pods-belong-to-the-sandbox-kubelet
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
      - key: '.metadata.annotations["sandbox.nozzle.test/never"]'
        operator: 'Exists'
  next: {}
`;

export async function startKwok(
  binary: string,
  dir: string,
  kubeconfig: string,
  config: KubeConfig,
): Promise<ManagedProcess> {
  const port = await freePort();
  const stages = join(dir, 'kwok.yaml');
  writeFileSync(stages, KWOK_STAGES);
  const kwok = ManagedProcess.start(
    'kwok',
    binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--config=${stages}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${port}`,
      `--node-ip=${NODE_IP}`,
      // Heartbeats through a Lease renewed every few seconds, as a kubelet's:
      // without it the node lifecycle controller sees the node go silent
      // and marks every pod NotReady.
      '--node-lease-duration-seconds=40',
    ],
    // kwok reads ~/.kwok/kwok.yaml when it exists: keep a person's own config out.
    { logFile: join(dir, 'kwok.log'), env: { ...process.env, HOME: dir } },
  );
  await kwok.waitUntil('serving', async () => (await probe(`http://127.0.0.1:${port}/healthz`)) === 200);
  await applyObjects(config, [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: {
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/hostname': NODE_NAME,
        },
      },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    } as never,
    // What a local-path provisioner would offer: volumes for PersistentVolumeClaims.
    ...[0, 1, 2, 3, 4, 5].map((i) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `sandbox-volume-${i}` },
      spec: {
        capacity: { storage: '10Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: join(dir, 'volumes', `volume-${i}`) },
      },
    })),
  ]);
  return kwok;
}
