/**
 * The kubelet stand-in's pure parts: which program an image runs, the
 * downward API, probe ports, and a container's environment (with a fake
 * CoreV1Api: the ConfigMap reads are all it needs).
 */
import test from 'ava';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { imageName, programFor } from '../../../../scripts/testenv/sandbox/kubelet/images.js';
import { fieldValue } from '../../../../scripts/testenv/sandbox/kubelet/volumes.js';
import { makeCheck, resolvePort } from '../../../../scripts/testenv/sandbox/kubelet/probes.js';
import { containerEnv } from '../../../../scripts/testenv/sandbox/kubelet/env.js';

const binaries = { natsServer: '/cache/nats-server' };
const container = (image: string, extra: Partial<V1Container> = {}): V1Container => ({
  name: 'c',
  image,
  ...extra,
});

test('image names lose their tag and digest, not their registry port', (t) => {
  t.is(imageName('ghcr.io/nozzle-dev/nozzle:0.1.0'), 'ghcr.io/nozzle-dev/nozzle');
  t.is(imageName('nats:2.14.9-alpine'), 'nats');
  t.is(imageName('nozzle.test/echo@sha256:abc'), 'nozzle.test/echo');
  t.is(imageName('registry.local:5000/team/nozzle'), 'registry.local:5000/team/nozzle');
});

test('each known image runs its program with the container args; others are refused with the reason', (t) => {
  const nozzle = programFor(container('ghcr.io/nozzle-dev/nozzle:0.1.0', { args: ['worker'] }), binaries);
  t.true('binary' in nozzle && nozzle.binary === process.execPath);
  t.true(
    'args' in nozzle && nozzle.args.at(-1) === 'worker' && /dist\/cli\/main\.js$/.test(nozzle.args[0] ?? ''),
  );
  t.deepEqual(
    programFor(container('nats:2.14.9-alpine', { args: ['--config', '/etc/nats/nats.conf'] }), binaries),
    {
      binary: '/cache/nats-server',
      args: ['--config', '/etc/nats/nats.conf'],
    },
  );
  const echo = programFor(container('nozzle.test/echo:1'), binaries);
  t.true('args' in echo && /images\/echo\.js$/.test(echo.args[0] ?? ''));
  const tcp = programFor(container('nozzle.test/tcp-echo:latest'), binaries);
  t.true('args' in tcp && /images\/tcp-echo\.js$/.test(tcp.args[0] ?? ''));

  const nginx = programFor(container('nginxinc/nginx-unprivileged:1.27-alpine'), binaries);
  t.true('unsupported' in nginx);
  t.regex(
    'unsupported' in nginx ? nginx.unsupported : '',
    /cannot run image nginxinc\/nginx-unprivileged:1\.27-alpine/,
  );
  const command = programFor(container('nozzle.test/echo:1', { command: ['sh', '-c', 'x'] }), binaries);
  t.regex('unsupported' in command ? command.unsupported : '', /sets command/);
});

const pod: V1Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { app: 'web' } },
  spec: { nodeName: 'node-0', serviceAccountName: 'web', containers: [] },
  status: { podIP: '10.244.0.9', hostIP: '10.240.0.1' },
};

test('the downward API answers the fields a pod asks for, and names the one it does not know', (t) => {
  t.is(fieldValue(pod, 'metadata.name'), 'web-1');
  t.is(fieldValue(pod, 'metadata.namespace'), 'shop');
  t.is(fieldValue(pod, 'status.podIP'), '10.244.0.9');
  t.is(fieldValue(pod, "metadata.labels['app']"), 'web');
  t.throws(() => fieldValue(pod, 'spec.priority'), { message: /downward API field spec\.priority/ });
});

test('probe ports: numbers as they are, names from the container, unknown names refused', (t) => {
  const c = container('x', { ports: [{ name: 'http', containerPort: 8080 }] });
  t.is(resolvePort(c, 9000), 9000);
  t.is(resolvePort(c, '9001'), 9001);
  t.is(resolvePort(c, 'http'), 8080);
  t.throws(() => resolvePort(c, 'grpc'), { message: /grpc is not a named port/ });
});

test('an httpGet probe passes on 2xx/3xx and fails on 5xx or no answer; a tcpSocket probe passes when it connects', async (t) => {
  let status = 200;
  const server = createServer((_req, res) => res.writeHead(status).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const http = makeCheck(container('x'), { httpGet: { path: '/readyz', port } }, '127.0.0.1');
  t.true(await http());
  status = 302;
  t.true(await http());
  status = 503;
  t.false(await http());
  const tcp = makeCheck(container('x'), { tcpSocket: { port } }, '127.0.0.1');
  t.true(await tcp());
  server.close();
  await once(server, 'close');
  t.false(await http());
  t.false(await tcp());
  t.throws(() => makeCheck(container('x'), { exec: { command: ['true'] } }, '127.0.0.1'), {
    message: /httpGet and tcpSocket probes only/,
  });
});

test("a container's environment: the kubernetes Service, envFrom, values with $(VAR), fields and keys; a missing key is an error", async (t) => {
  const configMaps: Record<string, Record<string, string>> = {
    shared: { NATS_URL: 'nats://nats:4222', A: '1' },
  };
  const core = {
    readNamespacedConfigMap: ({ name }: { name: string }) =>
      configMaps[name]
        ? Promise.resolve({ data: configMaps[name] })
        : Promise.reject(Object.assign(new Error('nf'), { code: 404 })),
  } as unknown as CoreV1Api;
  const withEnv = (env: V1Container['env'], envFrom: V1Container['envFrom'] = []): V1Pod => ({
    ...pod,
    spec: { ...pod.spec, containers: [container('x', { env, envFrom })] },
  });
  const env = await containerEnv(
    core,
    withEnv(
      [
        { name: 'B', value: '$(A)-two' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'URL', valueFrom: { configMapKeyRef: { name: 'shared', key: 'NATS_URL' } } },
        { name: 'MAYBE', valueFrom: { configMapKeyRef: { name: 'absent', key: 'K', optional: true } } },
      ],
      [{ configMapRef: { name: 'shared' } }],
    ),
    '/pods/web-1/home',
  );
  t.is(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  t.is(env.KUBERNETES_SERVICE_PORT, '443');
  t.is(env.HOME, '/pods/web-1/home');
  t.is(env.A, '1');
  t.is(env.B, '1-two');
  t.is(env.POD, 'web-1');
  t.is(env.URL, 'nats://nats:4222');
  t.false('MAYBE' in env);
  t.false('KUBECONFIG' in env, "nothing of this machine's environment leaks in");
  await t.throwsAsync(
    containerEnv(
      core,
      withEnv([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'shared', key: 'NOPE' } } }]),
      '/h',
    ),
    { message: /key NOPE is not in ConfigMap shared/ },
  );
});
