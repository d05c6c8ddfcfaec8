import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import { probe } from './http.js';

export interface ApiServer {
  readonly url: string;
  /** PEM of the self-signed serving certificate, the CA clients trust. */
  readonly ca: string;
  /** Bearer token of an admin in system:masters. */
  readonly adminToken: string;
  readonly process: ManagedProcess;
}

/**
 * kube-apiserver the way controller-runtime's envtest runs it, plus what
 * Nozzle's tests need: RBAC on, an admin identity from a token file, and a
 * service-account issuer and signing key so TokenRequest issues real tokens.
 */
export async function startApiServer(
  binary: string,
  dir: string,
  etcdUrl: string,
  options: {
    extraArgs?: readonly string[];
    /** Where clients reach it (default 127.0.0.1 on a free port), and a serving certificate from a CA of the caller's. */
    address?: { host: string; port: number };
    serving?: { certFile: string; keyFile: string; caPem: string };
  } = {},
): Promise<ApiServer> {
  const host = options.address?.host ?? '127.0.0.1';
  const port = options.address?.port ?? (await freePort());
  const certDir = join(dir, 'apiserver-certs');
  mkdirSync(certDir, { recursive: true });

  const adminToken = randomBytes(24).toString('hex');
  const tokens = join(dir, 'tokens.csv');
  writeFileSync(tokens, `${adminToken},nozzle-test-admin,nozzle-test-admin,"system:masters"\n`, {
    mode: 0o600,
  });

  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saPub = join(dir, 'sa.pub');
  const saKey = join(dir, 'sa.key');
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const url = `https://${host}:${port}`;
  const serving = options.serving
    ? [`--tls-cert-file=${options.serving.certFile}`, `--tls-private-key-file=${options.serving.keyFile}`]
    : [`--cert-dir=${certDir}`];
  const process = ManagedProcess.start(
    'kube-apiserver',
    binary,
    [
      `--etcd-servers=${etcdUrl}`,
      `--etcd-prefix=/registry`,
      ...serving,
      `--secure-port=${port}`,
      `--bind-address=${host}`,
      `--advertise-address=${host}`,
      // Room for the many Services tests create (no controller frees their IPs in the base environment).
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokens}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      ...(options.extraArgs ?? []),
    ],
    { logFile: join(dir, 'kube-apiserver.log') },
  );
  let ca = options.serving?.caPem ?? '';
  await process.waitUntil(
    'ready',
    async () => {
      ca ||= readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
      return (await probe(`${url}/readyz`, { ca, token: adminToken })) === 200;
    },
    120_000,
  );
  return { url, ca, adminToken, process };
}

/** The KubeConfig in file `path`. */
export function loadKubeConfig(path: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

/** A kubeconfig (JSON is YAML) for `token` against `server`. */
export function kubeconfig(server: ApiServer, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'nozzle-test',
          cluster: {
            server: server.url,
            'certificate-authority-data': Buffer.from(server.ca).toString('base64'),
          },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'nozzle-test', context: { cluster: 'nozzle-test', user } }],
      'current-context': 'nozzle-test',
    },
    null,
    2,
  );
}
