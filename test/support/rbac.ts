/**
 * A component's RBAC from k8s/ applied as shipped (ServiceAccount, a ClusterRole
 * and its binding if it has one, and Roles in nozzle-system), and a client with
 * a real TokenRequest token for it.
 */
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { statusOf } from '../../lib/errors.js';
import type { Kube } from '../../lib/kube/client.js';
import { apply } from '../../scripts/testenv/servers/kube-request.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { repoRoot } from './manifests.js';
import { adminKube, adminKubeConfig, kubeWithToken, serviceAccountToken } from './env.js';

export async function asServiceAccount(t: ExecutionContext, file: string, account: string): Promise<Kube> {
  const kube = adminKube();
  const objects = loadAllYaml(readFileSync(join(repoRoot, file), 'utf8')) as KubernetesObject[];
  t.is(objects[0]?.kind, 'ServiceAccount');
  const kinds = objects.slice(1).map((o) => o.kind ?? '');
  const cluster = kinds.filter((k) => k.startsWith('Cluster'));
  t.true(
    cluster.length === 0 ||
      (cluster.length === 2 && kinds[0] === 'ClusterRole' && kinds[1] === 'ClusterRoleBinding'),
    'then a ClusterRole and its binding, or none',
  );
  t.true(
    kinds.slice(cluster.length).every((k) => k === 'Role' || k === 'RoleBinding'),
    'then only Roles and RoleBindings (in nozzle-system)',
  );
  await kube.core.createNamespace({ body: { metadata: { name: 'nozzle-system' } } }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
  for (const object of objects) {
    const res = await apply(adminKubeConfig(), object, {
      dryRun: false,
      fieldManager: `nozzle-test-${account}`,
    });
    t.true(res.status === 200 || res.status === 201, `apply ${object.kind}: ${res.status} ${res.body}`);
  }
  return kubeWithToken(await serviceAccountToken(kube, 'nozzle-system', account), account);
}

/** k8s/admission-policy.yaml applied as shipped (enforced a moment later: probe before relying on it). */
export async function applyAdmissionPolicies(): Promise<void> {
  for (const object of parseManifests(readFileSync(join(repoRoot, 'k8s', 'admission-policy.yaml'), 'utf8'))) {
    const res = await apply(adminKubeConfig(), object, { dryRun: false, fieldManager: 'nozzle-test-rbac' });
    if (res.status >= 300) throw new Error(`apply ${object.metadata?.name}: ${res.status} ${res.body}`);
  }
}
