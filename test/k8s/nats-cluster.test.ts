/**
 * The clustered NATS (k8s/components/nats-cluster) as a user applies it:
 * examples/nats-cluster built by kubectl's own kustomize, every object
 * through the strict server-side dry run, and what the component changes
 * checked against what it must be (three servers started together, routes
 * to each of them on the headless Service, the users' nats.conf included
 * unchanged, 6222 open between NATS pods only, both streams with 3
 * replicas), and nothing else changed. The rendered cluster.conf is read by
 * the real nats-server. The cluster itself runs in test/e2e/nats-cluster.test.ts.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { adminKubeConfig, requireEnv } from '../support/env.js';
import { apply } from '../../scripts/testenv/servers/kube-request.js';
import { kustomizeBuild } from '../support/manifests.js';
import { NATS_USERS, passwordVariable } from '../../lib/jetstream/nats-users.js';

const run = promisify(execFile);
const config = adminKubeConfig();
const fieldManager = 'nozzle-nats-cluster-test';
const discovery = new Map();
const OVERLAY = 'examples/nats-cluster';

const objectsOf = (() => {
  const cache = new Map<string, Promise<KubernetesObject[]>>();
  return (dir: string) => cache.get(dir) ?? cache.set(dir, kustomizeBuild(dir)).get(dir)!;
})();

const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const find = <T>(objects: KubernetesObject[], kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the build`);
  return found as T;
};

test.before(async () => {
  for (const object of await objectsOf(OVERLAY)) {
    if (object.kind !== 'Namespace') continue;
    const res = await apply(config, object, { dryRun: false, fieldManager }, discovery);
    if (res.status >= 300) throw new Error(`creating namespace failed: ${res.status} ${res.body}`);
  }
});

test(`${OVERLAY}: every object passes a strict server-side dry-run apply`, async (t) => {
  const objects = await objectsOf(OVERLAY);
  t.true(objects.length > 20);
  for (const object of objects) {
    const res = await apply(config, object, { dryRun: true, fieldManager }, discovery);
    t.true(res.status < 300, `${key(object)}: ${res.status} ${res.body}`);
  }
});

test('the overlay is k8s/ plus the cluster ConfigMap, with only the StatefulSet, the NetworkPolicy and nozzle-config changed', async (t) => {
  const base = new Map((await objectsOf('k8s')).map((o) => [key(o), JSON.stringify(o)]));
  const overlay = await objectsOf(OVERLAY);
  const added = overlay.filter((o) => !base.has(key(o))).map(key);
  t.deepEqual(added, ['ConfigMap/nozzle-system/nats-cluster-config']);
  const changed = overlay.filter((o) => base.has(key(o)) && base.get(key(o)) !== JSON.stringify(o)).map(key);
  t.deepEqual(changed.sort(), [
    'ConfigMap/nozzle-system/nozzle-config',
    'NetworkPolicy/nozzle-system/nats',
    'StatefulSet/nozzle-system/nats',
  ]);
  t.is(overlay.length, base.size + 1, 'nothing removed');
});

test('three NATS servers started together, each reading cluster.conf, which includes the users nats.conf unchanged', async (t) => {
  const objects = await objectsOf(OVERLAY);
  const sts = find<V1StatefulSet>(objects, 'StatefulSet', 'nats');
  t.is(sts.spec?.replicas, 3);
  t.is(sts.spec?.podManagementPolicy, 'Parallel');
  const pod = sts.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === 'nats');
  const configArg = container?.args?.[container.args.indexOf('--config') + 1] ?? '';
  // Where each ConfigMap is mounted, from the pod spec itself.
  const mountOf = (configMap: string) => {
    const volume = pod?.volumes?.find((v) => v.configMap?.name === configMap)?.name;
    return container?.volumeMounts?.find((m) => m.name === volume)?.mountPath;
  };
  const clusterDir = mountOf('nats-cluster-config');
  t.is(configArg, `${clusterDir}/cluster.conf`);
  const clusterConf =
    find<V1ConfigMap>(objects, 'ConfigMap', 'nats-cluster-config').data?.['cluster.conf'] ?? '';
  const include = /^include (\S+)$/m.exec(clusterConf)?.[1] ?? '';
  t.is(posix.join(clusterDir ?? '', include), `${mountOf('nats-config')}/nats.conf`);
  t.is(container?.ports?.find((p) => p.name === 'cluster')?.containerPort, 6222);
  // Every pod's own name on the StatefulSet's headless Service, in the namespace.
  const routes = [...clusterConf.matchAll(/nats-route:\/\/(\S+)/g)].map((m) => m[1]);
  const headless = `${sts.spec?.serviceName}.${sts.metadata?.namespace}.svc.cluster.local`;
  t.deepEqual(
    routes,
    [0, 1, 2].map((i) => `${sts.metadata?.name}-${i}.${headless}:6222`),
  );
  const base = find<V1ConfigMap>(await objectsOf('k8s'), 'ConfigMap', 'nats-config');
  t.deepEqual(find<V1ConfigMap>(objects, 'ConfigMap', 'nats-config').data, base.data);
  t.regex(base.data?.['nats.conf'] ?? '', /server_name: \$POD_NAME/, 'each server named by its pod');
});

test('both streams get 3 replicas from nozzle-config, which the setup Job and the publisher read', async (t) => {
  const objects = await objectsOf(OVERLAY);
  t.is(find<V1ConfigMap>(objects, 'ConfigMap', 'nozzle-config').data?.NOZZLE_STREAM_REPLICAS, '3');
  const base = find<V1ConfigMap>(await objectsOf('k8s'), 'ConfigMap', 'nozzle-config');
  t.is(base.data?.NOZZLE_STREAM_REPLICAS, undefined, 'a single server keeps the default, 1');
});

test('the NetworkPolicy keeps its rules and admits 6222 from the NATS pods only', async (t) => {
  interface Rule {
    from?: { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown }[];
    ports?: { protocol?: string; port?: number }[];
  }
  const rulesOf = async (dir: string) =>
    find<{ spec: { ingress: Rule[] } }>(await objectsOf(dir), 'NetworkPolicy', 'nats').spec.ingress;
  const base = await rulesOf('k8s');
  const rules = await rulesOf(OVERLAY);
  t.deepEqual(rules.slice(0, base.length), base);
  const route = rules.filter((r) => r.ports?.some((p) => p.port === 6222));
  t.deepEqual(route, [
    {
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }],
      ports: [{ protocol: 'TCP', port: 6222 }],
    },
  ]);
  const sts = find<V1StatefulSet>(await objectsOf(OVERLAY), 'StatefulSet', 'nats');
  t.is(sts.spec?.template.metadata?.labels?.['app.kubernetes.io/name'], 'nats');
});

test('the real nats-server reads the rendered cluster.conf with its include', async (t) => {
  const objects = await objectsOf(OVERLAY);
  const dir = mkdtempSync(join(tmpdir(), 'nats-cluster-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, file] of [
    ['nats-config', 'nats.conf'],
    ['nats-cluster-config', 'cluster.conf'],
  ] as const) {
    mkdirSync(join(dir, name === 'nats-config' ? 'nats' : 'nats-cluster'), { recursive: true });
    const text = find<V1ConfigMap>(objects, 'ConfigMap', name).data?.[file] ?? '';
    writeFileSync(join(dir, name === 'nats-config' ? 'nats' : 'nats-cluster', file), text);
  }
  const env = {
    POD_NAME: 'nats-0',
    ...Object.fromEntries(NATS_USERS.map((u) => [passwordVariable(u), 'p4ssword'])),
  };
  const { stdout, stderr } = await run(
    requireEnv('NOZZLE_TESTENV_NATS_SERVER'),
    ['-t', '-c', join(dir, 'nats-cluster', 'cluster.conf')],
    { env },
  );
  t.regex(stdout + stderr, /configuration file .*cluster\.conf is valid/);
  // The same check fails on a broken include, so it can fail.
  writeFileSync(join(dir, 'nats-cluster', 'cluster.conf'), 'include ../missing/nats.conf\n');
  await t.throwsAsync(
    run(requireEnv('NOZZLE_TESTENV_NATS_SERVER'), ['-t', '-c', join(dir, 'nats-cluster', 'cluster.conf')], {
      env,
    }),
  );
});
