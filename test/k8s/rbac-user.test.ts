/**
 * The people's ClusterRoles from k8s/rbac-user.yaml, exactly as shipped,
 * bound per namespace by RoleBindings to real ServiceAccount tokens
 * (TokenRequest): a viewer sees status and gets a clear "no rights" error on
 * wake; a user wakes and sleeps its namespace, and is refused elsewhere.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1RoleBinding } from '@kubernetes/client-node';
import { statusOf } from '../../lib/errors.js';
import { applyObjects } from '../../scripts/testenv/servers/apply.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { adminKube, adminKubeConfig, kubeWithToken, serviceAccountToken } from '../support/env.js';
import { writeKubeconfig } from '../support/kubeconfig-file.js';
import { repoRoot } from '../support/manifests.js';
import { nozzle } from '../support/people-cli.js';
import { createShop } from '../support/shop.js';
import { createScaledObject, installScaledObjectCrd, readScaledObject } from '../support/keda.js';

const kube = adminKube();
const dir = mkdtempSync(join(tmpdir(), 'nozzle-rbac-user-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test.before(async () => {
  await applyObjects(
    adminKubeConfig(),
    parseManifests(readFileSync(join(repoRoot, 'k8s', 'rbac-user.yaml'), 'utf8')),
  );
});

/** A ServiceAccount in `namespace` bound there to `role`; its kubeconfig. */
async function person(namespace: string, role: 'nozzle-viewer' | 'nozzle-user'): Promise<string> {
  const name = role.replace('nozzle-', '');
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${name}-nozzle`, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  };
  await applyObjects(adminKubeConfig(), [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    binding,
  ]);
  return writeKubeconfig(dir, `${namespace}-${name}`, {
    token: await serviceAccountToken(kube, namespace, name),
  });
}

test('a viewer sees the status of its namespace, and may not wake or sleep it', async (t) => {
  const { namespace } = await createShop(kube, 'rbac-viewer');
  const KUBECONFIG = await person(namespace, 'nozzle-viewer');
  const status = await nozzle(['status', namespace, '-o', 'json'], { KUBECONFIG });
  t.is(status.code, 0, status.stderr);
  t.is((JSON.parse(status.stdout) as { namespaces: { state: string }[] }).namespaces[0]?.state, 'awake');

  const wake = await nozzle(['wake', namespace], { KUBECONFIG });
  t.is(wake.code, 1);
  t.is(
    wake.stderr,
    `error: you may not patch namespaces in "${namespace}": ask for the nozzle-user ClusterRole (k8s/rbac-user.yaml)\n`,
  );
  const sleep = await nozzle(['sleep', namespace], { KUBECONFIG });
  t.is(sleep.code, 1);
  t.regex(sleep.stderr, /^error: you may not \w+ \w+ in ".+": ask for the nozzle-user ClusterRole/);
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.spec?.replicas, 3, 'nothing was put to sleep');
});

test('a user sleeps and wakes its namespace, and is refused other namespaces and deletes', async (t) => {
  await installScaledObjectCrd();
  const { namespace } = await createShop(kube, 'rbac-user');
  const other = await createShop(kube, 'rbac-other');
  // web is KEDA-scaled: the person's sleep pauses its ScaledObject, the person's wake resumes it.
  await createScaledObject(kube, namespace, 'web', { name: 'web' });
  const KUBECONFIG = await person(namespace, 'nozzle-user');

  const sleep = await nozzle(['sleep', namespace], { KUBECONFIG });
  t.is(sleep.code, 0, sleep.stderr);
  t.regex(sleep.stdout, /deployment\/web +slept \(replicas 3 -> 0\)/);
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 0);
  t.like((await readScaledObject(kube, namespace, 'web')).metadata.annotations, {
    'autoscaling.keda.sh/paused-replicas': '0',
  });

  const wake = await nozzle(['wake', namespace, '--for', '1h'], { KUBECONFIG });
  t.is(wake.code, 0, wake.stderr);
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 3);
  t.deepEqual(
    (await readScaledObject(kube, namespace, 'web')).metadata.annotations ?? {},
    {},
    'KEDA resumed',
  );

  const elsewhere = await nozzle(['sleep', other.namespace], { KUBECONFIG });
  t.is(elsewhere.code, 1);
  t.is(
    elsewhere.stderr,
    `error: you may not get namespaces in "${other.namespace}": ask for the nozzle-user ClusterRole (k8s/rbac-user.yaml)\n`,
  );
  const all = await nozzle(['status'], { KUBECONFIG });
  t.is(all.code, 1);
  t.is(
    all.stderr,
    'error: you may not list namespaces cluster-wide: ask for the nozzle-viewer (or nozzle-user) ClusterRole (k8s/rbac-user.yaml)\n',
  );

  const asUser = kubeWithToken(await serviceAccountToken(kube, namespace, 'user'));
  const refused = await asUser.apps
    .deleteNamespacedDeployment({ namespace, name: 'web' })
    .catch((e: unknown) => e);
  t.is(statusOf(refused), 403);
  const secrets = await asUser.core.listNamespacedSecret({ namespace }).catch((e: unknown) => e);
  t.is(statusOf(secrets), 403);
});
