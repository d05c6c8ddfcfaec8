/**
 * What a test needs from the environment `npm test` started around it
 * (scripts/testenv). Tests never skip when it is missing: they fail and say so.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectKube, type Kube } from '../../lib/kube/client.js';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests with \`npm test\`, which starts the real apiserver and NATS`,
    );
  }
  return value;
}

export function adminKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(requireEnv('KUBECONFIG'));
  return config;
}

export function adminKube(): Kube {
  return connectKube(adminKubeConfig());
}

/** A client that authenticates with `token` (a ServiceAccount's) against the same apiserver. */
export function kubeWithToken(token: string, user = 'token-user'): Kube {
  return connectKube(tokenKubeConfig(token, user));
}

/** The kubeconfig of kubeWithToken (for raw requests, scripts/testenv/servers/kube-request.ts). */
export function tokenKubeConfig(token: string, user = 'token-user'): KubeConfig {
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no cluster');
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: 'ctx', cluster: cluster.name, user }],
    currentContext: 'ctx',
  });
  return config;
}

/** A real ServiceAccount token from the TokenRequest API. */
export async function serviceAccountToken(kube: Kube, namespace: string, name: string): Promise<string> {
  const request = await kube.core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

export function natsConnect(): Promise<NatsConnection> {
  return connect({ servers: requireEnv('NATS_URL') });
}

/** A DNS-1123 name unique to this run: `prefix-3f9a1c`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A pinned version from scripts/versions.env. */
export function pinnedVersion(name: string): string {
  const file = readFileSync(new URL('../../../scripts/versions.env', import.meta.url), 'utf8');
  const match = new RegExp(`^${name}=(\\S+)$`, 'm').exec(file);
  if (!match?.[1]) throw new Error(`${name} is not in scripts/versions.env`);
  return match[1];
}
