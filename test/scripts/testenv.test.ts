/**
 * The test environment is made of the real things: these pass only against a
 * real kube-apiserver (RBAC on, TokenRequest) and a real nats-server with
 * JetStream, and fail when either is absent.
 */
import test from 'ava';
import { VersionApi, type V1Deployment } from '@kubernetes/client-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { mergePatch, serverSideApply } from '../../lib/kube/patch.js';
import { statusOf } from '../../lib/errors.js';
import {
  adminKube,
  adminKubeConfig,
  kubeWithToken,
  natsConnect,
  pinnedVersion,
  requireEnv,
  serviceAccountToken,
  uniqueName,
} from '../support/env.js';

const kube = adminKube();

test('the apiserver reports the pinned Kubernetes version', async (t) => {
  const version = await adminKubeConfig().makeApiClient(VersionApi).getCode();
  t.is(version.gitVersion, pinnedVersion('KUBERNETES_VERSION'));
});

test('a Deployment is created, merge-patched and server-side applied', async (t) => {
  const namespace = uniqueName('smoke');
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:alpine' }] },
      },
    },
  };
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment });

  const patched = await kube.apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace,
      body: { spec: { replicas: 0 }, metadata: { annotations: { 'nozzle.io/replicas': '3' } } },
    },
    mergePatch,
  );
  t.is(patched.spec?.replicas, 0);
  t.is(patched.metadata?.annotations?.['nozzle.io/replicas'], '3');

  const applied = await kube.apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace,
      fieldManager: 'nozzle-smoke',
      force: true,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace, labels: { tier: 'smoke' } },
      },
    },
    serverSideApply,
  );
  t.is(applied.metadata?.labels?.tier, 'smoke');
  t.true(
    applied.metadata?.managedFields?.some((f) => f.manager === 'nozzle-smoke' && f.operation === 'Apply'),
  );
});

test('a ServiceAccount token from TokenRequest gets what its Role allows and 403 for the rest', async (t) => {
  const namespace = uniqueName('smoke-rbac');
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
  const rbac = adminKubeConfig().makeApiClient(
    (await import('@kubernetes/client-node')).RbacAuthorizationV1Api,
  );
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  });
  const reader = kubeWithToken(await serviceAccountToken(kube, namespace, 'reader'));

  const allowed = await reader.core.listNamespacedConfigMap({ namespace });
  t.true(Array.isArray(allowed.items));
  const denied = await t.throwsAsync(reader.core.listNamespacedSecret({ namespace }));
  t.is(statusOf(denied), 403);
  const deniedWrite = await t.throwsAsync(
    reader.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'nope' } } }),
  );
  t.is(statusOf(deniedWrite), 403);
});

test('a JetStream durable pull consumer: publish, consume, ack, and /jsz shows the lag', async (t) => {
  const nc = await natsConnect();
  t.teardown(() => nc.close());
  const stream = uniqueName('SMOKE').toUpperCase();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  await jsm.consumers.add(stream, { durable_name: 'reader', ack_policy: AckPolicy.Explicit });

  const numPending = async (): Promise<number> => {
    const res = await fetch(`${requireEnv('NATS_MONITOR_URL')}/jsz?consumers=true`);
    const jsz = (await res.json()) as {
      account_details?: {
        stream_detail?: { name: string; consumer_detail?: { name: string; num_pending: number }[] }[];
      }[];
    };
    const consumer = jsz.account_details
      ?.flatMap((a) => a.stream_detail ?? [])
      .find((s) => s.name === stream)
      ?.consumer_detail?.find((c) => c.name === 'reader');
    if (!consumer) throw new Error(`/jsz does not list consumer reader on ${stream}`);
    return consumer.num_pending;
  };

  const js = jetstream(nc);
  for (const n of [1, 2, 3]) await js.publish(`${stream}.work`, JSON.stringify({ n }), { msgID: `m${n}` });
  const duplicate = await js.publish(`${stream}.work`, JSON.stringify({ n: 1 }), { msgID: 'm1' });
  t.true(duplicate.duplicate);
  t.is(await numPending(), 3);

  const consumer = await js.consumers.get(stream, 'reader');
  const message = await consumer.next({ expires: 5_000 });
  t.truthy(message);
  t.deepEqual(message?.json(), { n: 1 });
  await message?.ackAck();
  t.is(await numPending(), 2);
});
