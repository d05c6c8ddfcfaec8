/**
 * kube-proxy in nftables mode on the node: ClusterIP and NodePort traffic
 * from pods (which all route through the node) and from node processes is
 * translated to endpoints by the same rules as in a cluster.
 */
import { join } from 'node:path';
import { ManagedProcess } from '../servers/process.js';
import { freePort } from '../servers/ports.js';
import { probe } from '../servers/http.js';
import { POD_CIDR } from './network/netns.js';

export async function startKubeProxy(
  binary: string,
  dir: string,
  kubeconfig: string,
  nodeName: string,
): Promise<ManagedProcess> {
  const [healthz, metrics] = [await freePort(), await freePort()];
  const proxy = ManagedProcess.start(
    'kube-proxy',
    binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${nodeName}`,
      '--proxy-mode=nftables',
      `--cluster-cidr=${POD_CIDR}`,
      `--healthz-bind-address=127.0.0.1:${healthz}`,
      `--metrics-bind-address=127.0.0.1:${metrics}`,
      // Leave the machine's conntrack table size alone.
      '--conntrack-max-per-core=0',
    ],
    { logFile: join(dir, 'kube-proxy.log') },
  );
  await proxy.waitUntil(
    'healthy',
    async () => (await probe(`http://127.0.0.1:${healthz}/healthz`)) === 200,
    60_000,
  );
  return proxy;
}
