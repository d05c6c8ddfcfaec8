import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  natsServer: string;
  /** Directory of KEDA's CRD manifests (and its nats-jetstream scaler source), at the pinned KEDA version. */
  kedaCrds: string;
}

export interface E2eBinaries extends Binaries {
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  kedaOperator: string;
}

/** The sandbox: a cluster with real networking, ingress, DNS and metrics. */
export interface SandboxBinaries extends E2eBinaries {
  kubeProxy: string;
  coredns: string;
  /** Traefik without ACME DNS-01 and basic/digest auth: the build stubs them out (scripts/build-test-binaries.sh). */
  traefik: string;
  /** The Prometheus server (API only, no web UI), with kubernetes, dns, file, http and static service discovery. */
  prometheus: string;
  /** KEDA's metrics adapter (the external metrics API server), at the pinned KEDA version. */
  kedaAdapter: string;
  /** Directory of the Gateway API standard-channel CRDs (and its ValidatingAdmissionPolicy guarding upgrades). */
  gatewayApiCrds: string;
}

const script = fileURLToPath(new URL('../../../../scripts/build-test-binaries.sh', import.meta.url));

const base = {
  etcd: 'etcd',
  kubeApiserver: 'kube-apiserver',
  natsServer: 'nats-server',
  kedaCrds: 'keda-crds',
} as const;
const e2e = {
  kubeControllerManager: 'kube-controller-manager',
  kubeScheduler: 'kube-scheduler',
  kubectl: 'kubectl',
  kwok: 'kwok',
  kedaOperator: 'keda-operator',
} as const;
const sandbox = {
  kubeProxy: 'kube-proxy',
  coredns: 'coredns',
  traefik: 'traefik',
  prometheus: 'prometheus',
  kedaAdapter: 'keda-adapter',
  gatewayApiCrds: 'gateway-api-crds',
} as const;

/** TEST_ASSET_KUBE_APISERVER for kube-apiserver, as controller-runtime's envtest names them. */
const envName = (binary: string): string => `TEST_ASSET_${binary.toUpperCase().replaceAll('-', '_')}`;

/**
 * Finds the server binaries the envtest way first: TEST_ASSET_<NAME>, then
 * KUBEBUILDER_ASSETS; whatever is still missing is built from Go modules by
 * scripts/build-test-binaries.sh into a cache, once per machine.
 */
export async function findBinaries(options: { sandbox: true; e2e?: boolean }): Promise<SandboxBinaries>;
export async function findBinaries(options: { e2e: true; sandbox?: false }): Promise<E2eBinaries>;
export async function findBinaries(options?: { e2e?: false; sandbox?: false }): Promise<Binaries>;
export async function findBinaries(
  options: { e2e?: boolean; sandbox?: boolean } = {},
): Promise<Binaries | E2eBinaries | SandboxBinaries> {
  const wanted: Record<string, string> = options.sandbox
    ? { ...base, ...e2e, ...sandbox }
    : options.e2e
      ? { ...base, ...e2e }
      : { ...base };
  const found = new Map<string, string>();
  for (const binary of Object.values(wanted)) {
    const assets = process.env.KUBEBUILDER_ASSETS;
    const path = process.env[envName(binary)] ?? (assets ? join(assets, binary) : undefined);
    if (path && existsSync(path)) found.set(binary, path);
  }
  const missing = Object.values(wanted).filter((b) => !found.has(b));
  if (missing.length > 0) {
    for (const [binary, path] of await build(missing)) found.set(binary, path);
  }
  const out: Record<string, string> = {};
  for (const [key, binary] of Object.entries(wanted)) {
    const path = found.get(binary);
    if (!path)
      throw new Error(
        `no ${binary}: set ${envName(binary)} or KUBEBUILDER_ASSETS, or let ${script} build it`,
      );
    out[key] = path;
  }
  return out as unknown as Binaries | E2eBinaries | SandboxBinaries;
}

/** Runs the build script (a no-op for what is cached), streaming its progress to stderr. */
function build(binaries: readonly string[]): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', [script, ...binaries], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        reject(new Error(`building ${binaries.join(', ')} failed: ${err.message}`));
        return;
      }
      const paths = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) paths.set(line.slice(0, eq), line.slice(eq + 1));
      }
      resolve(paths);
    });
    child.stderr?.pipe(process.stderr);
  });
}
