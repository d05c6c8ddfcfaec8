/**
 * The sandbox's node: runs inside the network namespace sandbox.ts made
 * (through `ip netns exec`) and starts, on the node's address, everything a
 * cluster's control plane and one node run: etcd, kube-apiserver (RBAC, the
 * aggregation layer), the controllers and the scheduler, kwok for the Node
 * object, kube-proxy, CoreDNS, KEDA's operator and metrics adapter, Traefik,
 * Prometheus and the kubelet stand-in. It then serves the dialer (the way in
 * from this machine) and writes ready.json; SIGTERM stops it all.
 *
 *   node.js DIR BINARIES_JSON SANDBOX_NAMESPACE
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { startEtcd } from '../servers/etcd.js';
import { startApiServer, kubeconfig, loadKubeConfig } from '../servers/apiserver.js';
import { applyDirectory } from '../servers/apply.js';
import type { ManagedProcess } from '../servers/process.js';
import type { SandboxBinaries } from '../servers/binaries.js';
import { makeCerts } from './certs.js';
import { APISERVER_PORT, NODE_IP, SERVICE_CIDR, SYSTEM_PATH } from './network/netns.js';
import { NODE_NAME, startControllers, startKwok } from './control-plane.js';
import { startKubeProxy } from './kube-proxy.js';
import { startCoreDns, waitForDns } from './coredns.js';
import { startKeda } from './keda.js';
import { startGateway } from './gateway.js';
import { startPrometheus } from './prometheus.js';
import { Kubelet } from './kubelet/kubelet.js';
import { serveDialer } from './dialer.js';

export interface NodeReady {
  readonly adminToken: string;
  readonly caFile: string;
  readonly dialer: string;
  readonly gateway: string;
  /** Prometheus's process, for Sandbox.stopPrometheus (an outage of the traffic source). */
  readonly prometheusPid: number;
}

const [dir, binariesFile, sandbox] = process.argv.slice(2);
if (!dir || !binariesFile || !sandbox) {
  console.error(
    'usage: node.js DIR BINARIES_JSON SANDBOX_NAMESPACE (started by scripts/testenv/sandbox/sandbox.ts)',
  );
  process.exit(2);
}
// Every server below finds the system's tools (nft, ip, sysctl), not an npm script's.
process.env.PATH = SYSTEM_PATH;
const binaries = JSON.parse(readFileSync(binariesFile, 'utf8')) as SandboxBinaries;
const progress = (line: string): void => appendFileSync(join(dir, 'progress.log'), `${line}\n`);

const processes: ManagedProcess[] = [];
let kubelet: Kubelet | undefined;
let dialer: Server | undefined;
let stopping = false;

async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  progress('stopping the node');
  dialer?.close();
  await kubelet?.stop().catch(() => {});
  for (const p of processes.reverse()) await p.stop();
  process.exit(code);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

async function main(): Promise<void> {
  const certs = makeCerts(dir as string);
  progress('starting etcd');
  const etcd = await startEtcd(binaries.etcd, dir as string);
  processes.push(etcd.process);
  progress('starting kube-apiserver (RBAC, aggregation layer)');
  const apiserver = await startApiServer(binaries.kubeApiserver, dir as string, etcd.url, {
    address: { host: NODE_IP, port: APISERVER_PORT },
    serving: { certFile: certs.apiserverCert, keyFile: certs.apiserverKey, caPem: certs.caPem },
    extraArgs: [
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--requestheader-client-ca-file=${certs.frontProxyCaCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${certs.frontProxyClientCert}`,
      `--proxy-client-key-file=${certs.frontProxyClientKey}`,
      '--enable-aggregator-routing=true',
    ],
  });
  processes.push(apiserver.process);
  const admin = join(dir as string, 'kubeconfig');
  writeFileSync(admin, kubeconfig(apiserver, 'sandbox-admin', apiserver.adminToken), { mode: 0o600 });
  const config = loadKubeConfig(admin);

  progress('starting kube-controller-manager, kube-scheduler and kwok');
  processes.push(
    ...(await startControllers(binaries, dir as string, admin, {
      caCert: certs.caCert,
      caKey: certs.caKey,
      saKey: join(dir as string, 'sa.key'),
    })),
  );
  processes.push(await startKwok(binaries.kwok, dir as string, admin, config));
  await applyDirectory(config, binaries.kedaCrds);

  progress('starting CoreDNS and kube-proxy');
  processes.push(await startCoreDns(binaries.coredns, dir as string, admin, config));
  processes.push(await startKubeProxy(binaries.kubeProxy, dir as string, admin, NODE_NAME));
  // Services work: CoreDNS answers at the DNS Service's ClusterIP, through kube-proxy's rules.
  await waitForDns('kubernetes.default.svc.cluster.local');

  progress('starting the kubelet stand-in');
  kubelet = new Kubelet({
    config,
    nodeName: NODE_NAME,
    sandbox: sandbox as string,
    dir: dir as string,
    binaries: { natsServer: binaries.natsServer },
    log: (line) =>
      appendFileSync(join(dir as string, 'kubelet.log'), `${new Date().toISOString()} ${line}\n`),
  });
  await kubelet.start();

  // Independent of each other: start them side by side.
  progress('starting Traefik (Ingress and Gateway API providers), Prometheus and KEDA');
  const [gateway, prometheus, keda] = await Promise.all([
    startGateway(
      binaries,
      dir as string,
      { url: apiserver.url, token: apiserver.adminToken, caFile: certs.caCert },
      config,
    ),
    startPrometheus(binaries.prometheus, dir as string, config),
    startKeda(binaries, dir as string, admin, config, certs, progress),
  ]);
  processes.push(gateway.process, prometheus, ...keda);

  const dialerPath = join(dir as string, 'dialer.sock');
  dialer = await serveDialer(dialerPath);
  const ready: NodeReady = {
    adminToken: apiserver.adminToken,
    caFile: certs.caCert,
    dialer: dialerPath,
    gateway: gateway.gateway,
    prometheusPid: prometheus.pid ?? 0,
  };
  writeFileSync(join(dir as string, 'ready.json'), JSON.stringify(ready));
  progress('the node is ready');
}

main().catch((err: unknown) => {
  progress(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void stop(1);
});
