/**
 * The sandbox's certificates, made with openssl as kubeadm would make them:
 * a cluster CA that signs the apiserver's serving certificate (valid for
 * every name a client uses: the node address, the kubernetes Service's
 * ClusterIP and DNS names, and loopback for the forwarded entry point), and
 * the front-proxy CA and client certificate the aggregation layer uses to
 * call KEDA's metrics adapter.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP } from './network/netns.js';

export interface SandboxCerts {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly frontProxyCaCert: string;
  readonly frontProxyClientCert: string;
  readonly frontProxyClientKey: string;
  /** PEM of the cluster CA, what every client trusts. */
  readonly caPem: string;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name: string, subject: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert].concat([
      '-days',
      '7',
      '-subj',
      subject,
    ]),
  );
  return { cert, key };
}

export function signed(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  subject: string,
  extensions: string,
): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'].concat([
      '-out',
      cert,
      '-days',
      '7',
      '-extfile',
      ext,
    ]),
  );
  return { cert, key };
}

/** A serving certificate from the cluster CA, for a Service's DNS names (what an aggregated API server presents). */
export function servingCert(
  certs: SandboxCerts,
  name: string,
  dnsNames: readonly string[],
): { cert: string; key: string } {
  return signed(
    certs.dir,
    name,
    { cert: certs.caCert, key: certs.caKey },
    `/CN=${dnsNames[0] ?? name}`,
    `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
}

export function makeCerts(parent: string): SandboxCerts {
  const dir = join(parent, 'pki');
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca', '/CN=nozzle-sandbox-ca');
  const names = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${CLUSTER_DOMAIN}`,
    'localhost',
  ];
  const ips = [NODE_IP, KUBERNETES_SERVICE_IP, '127.0.0.1'];
  const san = [...names.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',');
  const apiserver = signed(
    dir,
    'apiserver',
    ca,
    '/CN=kube-apiserver',
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  const frontProxyCa = makeCa(dir, 'front-proxy-ca', '/CN=front-proxy-ca');
  const frontProxyClient = signed(
    dir,
    'front-proxy-client',
    frontProxyCa,
    '/CN=front-proxy-client',
    'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    apiserverCert: apiserver.cert,
    apiserverKey: apiserver.key,
    frontProxyCaCert: frontProxyCa.cert,
    frontProxyClientCert: frontProxyClient.cert,
    frontProxyClientKey: frontProxyClient.key,
    caPem: readFileSync(ca.cert, 'utf8'),
  };
}
