/**
 * ingress-nginx annotations the activator cannot stand in for (rewritten
 * paths, regex paths, another Host, a protocol other than HTTP): a workload
 * whose Service such an Ingress path targets is not put to sleep at all. It
 * stays awake, nothing is rewritten, the message is acknowledged with the
 * reason logged, and a NotSleeping Event on the workload names the Ingress
 * and the annotation.
 */
import test from 'ava';
import type { V1Ingress } from '@kubernetes/client-node';
import { sleepMessage } from '../../../lib/messages.js';
import { ROUTE_SERVICE, annotations } from '../../../lib/names.js';
import { adminKube } from '../../support/env.js';
import { eventually } from '../../support/eventually.js';
import { createNamespace, deployment, service, snapshot } from '../../support/shop.js';
import { privateQueue, publish, sample, startWorker } from '../../support/worker-harness.js';
import { deadLetters, queueEmpty } from '../../support/stream.js';

const kube = adminKube();
const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

function ingress(name: string, serviceName: string, ingressAnnotations: Record<string, string>): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, annotations: ingressAnnotations },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: `${name}.example.com`,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: serviceName, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

test('a workload behind rewrite-target, use-regex, upstream-vhost or a non-HTTP backend-protocol stays awake', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createNamespace(kube, 'nginx-annot');
  // app -> the annotations on its Ingress; `null` for the apps that must sleep.
  const cases: [app: string, annotation: string | null, value: string | null][] = [
    ['rewrite', nginx('rewrite-target'), '/$2'],
    ['regex', nginx('use-regex'), 'true'],
    ['vhost', nginx('upstream-vhost'), 'internal.example.com'],
    ['grpc', nginx('backend-protocol'), 'GRPC'],
    ['tls', nginx('backend-protocol'), 'HTTPS'],
    // Harmless: plain HTTP spelled out, regex off, an unrelated nginx annotation.
    ['plain', nginx('backend-protocol'), 'HTTP'],
    ['noregex', nginx('use-regex'), 'false'],
    ['bodysize', nginx('proxy-body-size'), '8m'],
  ];
  for (const [app, annotation, value] of cases) {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment(app, 2) });
    await kube.core.createNamespacedService({ namespace, body: service(app, { app }) });
    await kube.networking.createNamespacedIngress({
      namespace,
      body: ingress(`${app}-ingress`, app, annotation && value ? { [annotation]: value } : {}),
    });
  }
  const before = await snapshot(kube, namespace);
  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  for (const [app] of cases) await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: app }));
  await eventually('every message answered', () => queueEmpty(nc));
  const after = await snapshot(kube, namespace);
  const events = (await kube.events.listNamespacedEvent({ namespace })).items;

  const blocked = cases.slice(0, 5);
  for (const [app, annotation, value] of blocked) {
    t.deepEqual(after.deployments[app]?.spec, before.deployments[app]?.spec, `${app}: still awake`);
    t.is(after.deployments[app]?.metadata?.annotations?.[annotations.replicas], undefined, app);
    t.deepEqual(
      after.ingresses[`${app}-ingress`],
      before.ingresses[`${app}-ingress`],
      `${app}: Ingress untouched`,
    );
    const line = worker.lines.find((l) => l.workload === `Deployment/${app}` && l.outcome !== undefined);
    t.is(line?.outcome, 'skipped', app);
    t.true(line?.acked, `${app}: acknowledged`);
    const reason = String(line?.reason);
    t.true(reason.includes(`Ingress ${app}-ingress has ${annotation}: "${value}"`), reason);
    const event = events.find((e) => e.regarding?.name === app);
    t.like(event, {
      reason: 'NotSleeping',
      type: 'Warning',
      reportingController: 'nozzle',
      regarding: { kind: 'Deployment', name: app, namespace },
    });
    t.true(event?.note?.includes(`Ingress ${app}-ingress`) && event.note.includes(annotation!), event?.note);
  }
  for (const [app] of cases.slice(5)) {
    t.is(after.deployments[app]?.spec?.replicas, 0, `${app}: asleep`);
    t.is(
      after.ingresses[`${app}-ingress`]?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name,
      ROUTE_SERVICE,
      `${app}: routed to the activator`,
    );
    t.like(
      events.find((e) => e.regarding?.name === app),
      { reason: 'Slept' },
    );
  }
  t.deepEqual(await deadLetters(nc), [], 'a workload that stays awake is not a failure');
  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'skipped' }), blocked.length);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 3);
});

test('nothing is written before the check: a namespace whose only workload is blocked gets no route Service', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createNamespace(kube, 'nginx-first');
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 1) });
  await kube.core.createNamespacedService({ namespace, body: service('web', { app: 'web' }) });
  // One harmless Ingress and one with upstream-vhost, for the same Service: the workload must stay awake.
  await kube.networking.createNamespacedIngress({ namespace, body: ingress('public', 'web', {}) });
  await kube.networking.createNamespacedIngress({
    namespace,
    body: ingress('internal', 'web', { [nginx('upstream-vhost')]: 'web.internal' }),
  });
  const before = await snapshot(kube, namespace);
  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await eventually('answered', () => queueEmpty(nc));
  t.deepEqual(await snapshot(kube, namespace), before, 'no route Service, no rewritten Ingress, no scale');
});
