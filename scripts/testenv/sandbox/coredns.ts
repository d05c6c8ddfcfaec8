/**
 * Cluster DNS: CoreDNS with its kubernetes plugin serving cluster.local on
 * the node, published as kube-system/kube-dns at the ClusterIP every pod's
 * resolv.conf names. Nothing is forwarded upstream: the sandbox has no
 * outside world to resolve.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Resolver } from 'node:dns/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from '../servers/process.js';
import { freePort } from '../servers/ports.js';
import { probe } from '../servers/http.js';
import { CLUSTER_DOMAIN, DNS_SERVICE_IP, NODE_IP } from './network/netns.js';
import { publishNodeService } from './node-services.js';

export async function startCoreDns(
  binary: string,
  dir: string,
  kubeconfig: string,
  config: KubeConfig,
): Promise<ManagedProcess> {
  const [health, ready] = [await freePort(), await freePort()];
  const corefile = join(dir, 'Corefile');
  writeFileSync(
    corefile,
    `.:53 {
    bind ${NODE_IP}
    errors
    health 127.0.0.1:${health}
    ready 127.0.0.1:${ready}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`,
  );
  const coredns = ManagedProcess.start('coredns', binary, ['-conf', corefile], {
    logFile: join(dir, 'coredns.log'),
  });
  await coredns.waitUntil('ready', async () => (await probe(`http://127.0.0.1:${ready}/ready`)) === 200);
  await publishNodeService(config, {
    namespace: 'kube-system',
    name: 'kube-dns',
    clusterIP: DNS_SERVICE_IP,
    ports: [
      { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
    ],
  });
  return coredns;
}

/** Waits until `name` resolves through the DNS Service's ClusterIP (CoreDNS and kube-proxy both working). */
export async function waitForDns(name: string, timeoutMs = 60_000): Promise<string> {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([DNS_SERVICE_IP]);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const [address] = await resolver.resolve4(name);
      if (address) return address;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`${name} did not resolve through ${DNS_SERVICE_IP}: ${String(last)}`);
}
