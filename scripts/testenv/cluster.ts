import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { apply } from './kube-request.js';
import { parseManifests } from './yaml.js';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import { probe } from './http.js';
import type { E2eBinaries } from './binaries.js';
import type { TestEnvironment } from './environment.js';

/** The node kwok pretends to run; pods scheduled to it become Running and Ready. */
export const FAKE_NODE = 'kwok-node-0';
/**
 * The controllers Nozzle's story needs: workloads and their pods, the
 * EndpointSlices the activator watches, ServiceAccounts, garbage collection,
 * namespace deletion, Jobs, node lifecycle (it lifts the not-ready taint from
 * kwok's node) and volume binding (NATS keeps JetStream on a volume).
 */
const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'job-controller',
  'node-lifecycle-controller',
  'persistentvolume-binder-controller',
];

/** The namespace the KEDA operator lives in and keeps its certificates in. */
export const KEDA_NAMESPACE = 'keda';

export interface Cluster {
  readonly processes: readonly ManagedProcess[];
  stop(): Promise<void>;
}

/**
 * Turns the apiserver of a TestEnvironment into a cluster that runs
 * workloads: kube-controller-manager (the controllers Nozzle's story needs),
 * kube-scheduler, kwok (fake nodes: pods become Running and Ready, deleted
 * pods go away) and the KEDA operator with its own CRDs.
 */
export async function startCluster(
  env: TestEnvironment,
  binaries: E2eBinaries,
  config: KubeConfig,
  progress: (line: string) => void,
): Promise<Cluster> {
  const processes: ManagedProcess[] = [];
  const kubeconfig = env.kubeconfigPath;
  const log = (name: string): string => join(env.dir, `${name}.log`);
  try {
    progress('installing the KEDA CRDs');
    await applyDirectory(config, binaries.kedaCrds);

    // kube-controller-manager and kube-scheduler take the same serving and
    // client flags; each adds its own.
    const startControlPlane = async (name: string, binary: string, extra: readonly string[]) => {
      progress(`starting ${name}`);
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
        { logFile: log(name) },
      );
      processes.push(child);
      await child.waitUntil(
        'healthy',
        async () => (await probe(`https://127.0.0.1:${port}/healthz`, insecure)) === 200,
      );
    };
    await startControlPlane('kube-controller-manager', binaries.kubeControllerManager, [
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${join(env.dir, 'sa.key')}`,
      '--use-service-account-credentials=false',
    ]);
    await startControlPlane('kube-scheduler', binaries.kubeScheduler, []);

    progress('starting kwok with one fake node');
    const kwokPort = await freePort();
    const kwok = ManagedProcess.start(
      'kwok',
      binaries.kwok,
      [
        `--kubeconfig=${kubeconfig}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--server-address=127.0.0.1:${kwokPort}`,
        '--cidr=10.244.0.1/16',
        '--node-ip=10.240.0.1',
      ],
      // kwok reads ~/.kwok/kwok.yaml when it exists: keep a person's own config out of the tests.
      { logFile: log('kwok'), env: { ...process.env, HOME: env.dir } },
    );
    processes.push(kwok);
    await kwok.waitUntil(
      'serving',
      async () => (await probe(`http://127.0.0.1:${kwokPort}/healthz`)) === 200,
    );
    await createFakeNode(config);
    await createVolumes(config, env.dir);

    progress('starting the KEDA operator');
    const certDir = join(env.dir, 'keda-certs');
    mkdirSync(certDir, { recursive: true });
    await ensureNamespace(config, KEDA_NAMESPACE);
    const [kedaMetrics, kedaProbe, kedaGrpc] = [await freePort(), await freePort(), await freePort()];
    const startKeda = (): ManagedProcess =>
      ManagedProcess.start(
        'keda-operator',
        binaries.kedaOperator,
        [
          `--kubeconfig=${kubeconfig}`,
          `--metrics-bind-address=127.0.0.1:${kedaMetrics}`,
          `--health-probe-bind-address=127.0.0.1:${kedaProbe}`,
          `--metrics-service-bind-address=127.0.0.1:${kedaGrpc}`,
          // KEDA makes its own CA and serving certificate, as its Helm chart does by default;
          // there is no metrics adapter or webhook here to patch.
          '--enable-cert-rotation=true',
          `--cert-dir=${certDir}`,
          '--enable-webhook-patching=false',
          '--enable-apiservice-patching=false',
          '--zap-log-level=info',
        ],
        {
          logFile: log('keda-operator'),
          env: {
            ...process.env,
            WATCH_NAMESPACE: '',
            POD_NAMESPACE: KEDA_NAMESPACE,
            KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
          },
        },
      );
    const kedaReady = async (): Promise<boolean> =>
      (await probe(`http://127.0.0.1:${kedaProbe}/readyz`)) === 200;
    // On its first start KEDA writes its certificates into the kedaorg-certs
    // Secret and exits, for the kubelet to mount the Secret at --cert-dir and
    // restart it. Do what the kubelet does: mount it, restart it.
    let keda = startKeda();
    processes.push(keda);
    const core = config.makeApiClient(CoreV1Api);
    const secret = (): Promise<V1Secret | undefined> =>
      core.readNamespacedSecret({ name: 'kedaorg-certs', namespace: KEDA_NAMESPACE }).catch(() => undefined);
    const deadline = Date.now() + 120_000;
    while (keda.running && !(await secret())?.data?.['tls.crt']) {
      if (Date.now() > deadline) throw new Error(`KEDA wrote no certificates:\n${keda.tail()}`);
      await sleep(100);
    }
    await keda.stop();
    const certs = await secret();
    if (!certs?.data?.['tls.crt'])
      throw new Error(`KEDA exited before writing its certificates:\n${keda.tail()}`);
    for (const [key, value] of Object.entries(certs.data)) {
      writeFileSync(join(certDir, key), Buffer.from(value, 'base64'), { mode: 0o600 });
    }
    keda = startKeda();
    processes[processes.length - 1] = keda;
    await keda.waitUntil('ready', kedaReady, 120_000);
  } catch (err) {
    for (const p of processes.reverse()) await p.stop();
    throw err;
  }
  return {
    processes,
    async stop() {
      for (const p of [...processes].reverse()) await p.stop();
    },
  };
}

// The controllers' and the scheduler's serving certificates are self-signed
// and only their /healthz is read here.
const insecure = { insecure: true } as const;

/** What a storage provisioner would offer: a few volumes for PersistentVolumeClaims (nothing mounts them). */
async function createVolumes(config: KubeConfig, dir: string): Promise<void> {
  await applyObjects(
    config,
    [0, 1, 2].map((i) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `testenv-volume-${i}` },
      spec: {
        capacity: { storage: '10Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        hostPath: { path: join(dir, `volume-${i}`) },
      },
    })),
  );
}

async function createFakeNode(config: KubeConfig): Promise<void> {
  await applyObjects(config, [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: FAKE_NODE,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: {
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/hostname': FAKE_NODE,
          type: 'kwok',
        },
      },
    },
  ]);
}

async function ensureNamespace(config: KubeConfig, name: string): Promise<void> {
  await applyObjects(config, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]);
}

/** Server-side applies every YAML document in `dir` (CRDs first, in file order). */
export async function applyDirectory(config: KubeConfig, dir: string): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const objects = files.flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8')));
  await applyObjects(config, objects);
}

export async function applyObjects(config: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const discovery = new Map();
  for (const object of objects) {
    const res = await apply(config, object, { dryRun: false, fieldManager: 'nozzle-testenv' }, discovery);
    if (res.status >= 300) {
      throw new Error(`applying ${object.kind}/${object.metadata?.name} failed: ${res.status} ${res.body}`);
    }
  }
}
