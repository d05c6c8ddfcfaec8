/**
 * A nats-server of a test's own running the nats.conf that k8s/nats.yaml
 * ships (its users and permissions as they are), with a fresh password per
 * user in the environment the way the StatefulSet passes them from the
 * Secrets. Address, ports and store directory are the test's. A test that must look at the streams gets one extra user,
 * `test-admin`, with every right: added before the shipped users, which stay
 * exactly as shipped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, type NatsAccess } from '../../lib/jetstream/connect.js';
import {
  NATS_USERS,
  generatePassword,
  passwordVariable,
  type NatsUser,
} from '../../lib/jetstream/nats-users.js';
import { manifestObjects } from './manifests.js';
import { startPrivateNats, type PrivateNats } from './private-nats.js';

export const TEST_ADMIN = 'test-admin';

/** nats.conf as k8s/nats.yaml ships it (the ConfigMap nats-config). */
export function shippedNatsConf(): string {
  const configMap: V1ConfigMap | undefined = manifestObjects('k8s').find(
    ({ object }) => object.kind === 'ConfigMap' && object.metadata?.name === 'nats-config',
  )?.object;
  const conf = configMap?.data?.['nats.conf'];
  if (!conf) throw new Error('k8s/nats.yaml has no ConfigMap nats-config with nats.conf');
  return conf;
}

export interface ShippedNats {
  readonly nats: PrivateNats;
  readonly passwords: Readonly<Record<NatsUser, string>>;
  /** How `user` connects, with its own password unless another is given. */
  access(user: NatsUser, password?: string): NatsAccess;
  /** A connection as `user`, closed at teardown. */
  connectAs(user: NatsUser | typeof TEST_ADMIN): Promise<NatsConnection>;
}

export async function startShippedNats(
  t: { teardown(fn: () => unknown): void },
  options: { name?: string; extraConf?: (dir: string) => string } = {},
): Promise<ShippedNats> {
  const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, generatePassword()])) as Record<
    NatsUser,
    string
  >;
  const adminPassword = generatePassword();
  const nats = await startPrivateNats(options.name ?? 'nats-shipped', (dir) => {
    const conf = shippedNatsConf()
      .replace('store_dir: /data/jetstream', `store_dir: ${join(dir, 'jetstream')}`)
      .replace(/^(\s*)users: \[$/m, `$1users: [\n$1  { user: ${TEST_ADMIN}, password: ${adminPassword} }`);
    if (!conf.includes(TEST_ADMIN))
      throw new Error('nats.conf has no `users: [` line to add the test user to');
    const file = join(dir, 'nats.conf');
    writeFileSync(file, conf + (options.extraConf?.(dir) ?? ''));
    return {
      config: file,
      env: {
        POD_NAME: 'nats-0',
        ...Object.fromEntries(NATS_USERS.map((u) => [passwordVariable(u), passwords[u]])),
      },
    };
  });
  t.teardown(() => nats.stop());
  const access = (user: NatsUser, password = passwords[user]): NatsAccess => ({ user, password });
  return {
    nats,
    passwords,
    access,
    async connectAs(user) {
      const nc = await connectNats(nats.url, {
        name: `test ${user}`,
        ...(user === TEST_ADMIN ? { user, password: adminPassword } : access(user)),
      });
      t.teardown(() => nc.close());
      return nc;
    },
  };
}
