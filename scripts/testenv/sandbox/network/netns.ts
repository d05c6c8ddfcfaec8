/**
 * The sandbox's network, made with iproute2: one network namespace plays the
 * node (the control plane, kube-proxy, CoreDNS, the gateway and Prometheus
 * run in it), and each pod gets a namespace of its own, routed to the node
 * through a veth pair the way a routed CNI (Calico) wires pods: a /32 pod
 * address, a default route via a link-local gateway address the node holds.
 * Nothing is bridged, so every packet between pods crosses the node's
 * netfilter hooks and kube-proxy's rules apply as in a cluster.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node's own address: the apiserver advertises it, pods reach node processes on it. */
export const NODE_IP = '10.240.0.1';
/** Pods' default gateway: a link-local address on the node's loopback, answered by ARP on every veth. */
const POD_GATEWAY = '169.254.1.1';
/** The apiserver's port on the node's address (the kubernetes Service's endpoint). */
export const APISERVER_PORT = 6443;
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
/** The kubernetes Service's ClusterIP (first of the range) and kube-dns's. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const DNS_SERVICE_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

/**
 * The PATH the sandbox's own processes run with: the system's tools only.
 * An npm script's PATH starts with node_modules/.bin, which holds an `nft`
 * of its own (@vercel/nft, through ava) that kube-proxy would run instead of
 * nftables'.
 */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Names start with this and end with the owning process's pid, so a crashed run's leftovers can be found. */
const PREFIX = 'nozzle-sb-';

export class SandboxError extends Error {
  override name = 'SandboxError';
}

function ip(args: readonly string[]): string {
  try {
    return execFileSync('ip', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: SYSTEM_PATH },
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new SandboxError(`ip ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
}

/** One clear message for what the machine lacks, before anything is started. */
export function checkCapabilities(uid = process.getuid?.()): void {
  if (process.platform !== 'linux') throw new SandboxError('the sandbox needs Linux network namespaces');
  if (uid !== 0) {
    throw new SandboxError(
      'the sandbox creates network namespaces, veth pairs and nftables rules, which needs root: ' +
        'run it as root (sudo -E npm run test:e2e), or use `npm test` for the tests that need no cluster network',
    );
  }
  for (const tool of ['ip', 'nft']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', env: { ...process.env, PATH: SYSTEM_PATH } });
    } catch {
      const pkg = tool === 'ip' ? 'iproute2' : 'nftables';
      throw new SandboxError(`the sandbox needs \`${tool}\`: apt-get install -y ${pkg}`);
    }
  }
}

export function sandboxName(pid = process.pid): string {
  return `${PREFIX}${pid}`;
}

/** Creates the node's namespace: loopback up, the node and gateway addresses, forwarding on. */
export function createNodeNamespace(name: string, resolvConf: string): void {
  ip(['netns', 'add', name]);
  const inNode = (args: readonly string[]): string => ip(['-n', name, ...args]);
  inNode(['link', 'set', 'lo', 'up']);
  inNode(['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  inNode(['addr', 'add', `${POD_GATEWAY}/32`, 'dev', 'lo']);
  // The node has no default route: give ClusterIPs one, so that a node
  // process's packet to a Service reaches the OUTPUT hook, where kube-proxy
  // translates it (to a pod, or to the node itself).
  inNode(['route', 'add', SERVICE_CIDR, 'dev', 'lo']);
  execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], {
    env: { ...process.env, PATH: SYSTEM_PATH },
  });
  // `ip netns exec` bind-mounts /etc/netns/<name>/* over /etc: node
  // processes (Traefik, the KEDA operator) resolve cluster names as pods do.
  const etc = join('/etc/netns', name);
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'resolv.conf'), resolvConf);
}

/** Deletes the node's namespace and every pod namespace named after it (`<name>-p<n>`), killing what runs in them. */
export function deleteNamespace(name: string): void {
  if (existsSync('/run/netns')) {
    for (const pod of readdirSync('/run/netns').filter((n) => n.startsWith(`${name}-`)))
      deletePodNetwork(pod, undefined);
  }
  for (const pid of pidsIn(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    ip(['netns', 'delete', name]);
  } catch {
    // already gone
  }
  rmSync(join('/etc/netns', name), { recursive: true, force: true });
}

function pidsIn(name: string): number[] {
  try {
    return ip(['netns', 'pids', name]).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Removes sandboxes whose owning process is gone (a run that was SIGKILLed). */
export function removeStaleSandboxes(log: (line: string) => void): void {
  if (!existsSync('/run/netns')) return;
  for (const name of readdirSync('/run/netns')) {
    // The node's namespaces only (`<prefix><pid>`): deleteNamespace() takes its pods' with it.
    const owner = name.startsWith(PREFIX) ? Number(name.slice(PREFIX.length)) : Number.NaN;
    if (!Number.isInteger(owner)) continue;
    if (isAlive(owner)) continue;
    log(`removing ${name}, left by a run that no longer exists`);
    deleteNamespace(name);
  }
}

/** Whether process `pid` exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A pod's namespace, created from inside the node's: `veth` on the node side
 * (routed to `podIp`), `eth0` in the pod. Its name starts with the node's
 * (`<node namespace>-p<n>`), so deleteNamespace() finds it after a crash.
 */
export function createPodNetwork(pod: string, veth: string, podIp: string): void {
  ip(['netns', 'add', pod]);
  ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
  const inPod = (args: readonly string[]): string => ip(['-n', pod, ...args]);
  inPod(['link', 'set', 'lo', 'up']);
  inPod(['addr', 'add', `${podIp}/32`, 'dev', 'eth0']);
  inPod(['link', 'set', 'eth0', 'up']);
  inPod(['route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link']);
  inPod(['route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0']);
  ip(['link', 'set', veth, 'up']);
  ip(['route', 'add', `${podIp}/32`, 'dev', veth]);
}

export function deletePodNetwork(pod: string, veth: string | undefined): void {
  for (const pid of pidsIn(pod)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    if (veth) ip(['link', 'delete', veth]);
  } catch {
    // the veth goes with the namespace
  }
  try {
    ip(['netns', 'delete', pod]);
  } catch {
    // already gone
  }
}
